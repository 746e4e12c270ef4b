// Results as you type on the search page (issue 11). Without this script the page works as a plain GET form;
// with it, typing in #search-q asks /api/search (the same results) and redraws the results section. Text goes
// in through textContent only: nothing a customer's name holds can become markup.
"use strict";
(function () {
  const input = document.getElementById("search-q");
  const section = document.getElementById("search-results-section");
  if (!input || !section) return;
  const MATCHED = {account_id: "account number", apn: "APN", phone: "phone", name: "customer name", email: "email",
                   service_address: "service address", mailing_address: "mailing address",
                   meter_serial: "meter serial", ami_endpoint: "AMI endpoint of meter"};
  const WAIT_MS = 250;
  let timer = null;
  let latest = 0;

  function element(tag, text, attributes) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    return node;
  }

  function pageLink(query, page, rel, id, text) {
    return element("a", text, {rel: rel, id: id, href: "/search?q=" + encodeURIComponent(query) + "&page=" + page});
  }

  function draw(found) {
    section.replaceChildren();
    section.dataset.query = found.query;
    for (const name of found.unavailable) {
      section.append(element("p", "Search by " + (name === "meters" ? "meter" : "account") +
                             ": unavailable (the service did not answer).", {class: "unavailable", "data-unavailable": name}));
    }
    if (found.results.length === 0) {
      section.append(element("p", "Nothing matches \u201c" + found.query + "\u201d.", {id: "search-none"}));
    } else {
      section.append(element("h2", "Results for \u201c" + found.query + "\u201d", {id: "search-summary"}));
      const table = element("table", null, {id: "search-results"});
      const head = element("tr");
      for (const title of ["Account", "Customer", "Service address", "APN", "Status", "Matched on"]) {
        head.append(element("th", title, {scope: "col"}));
      }
      const thead = element("thead");
      thead.append(head);
      table.append(thead);
      const body = table.appendChild(element("tbody"));
      for (const r of found.results) {
        const row = element("tr", null, {"data-account-id": r.account_id || "", "data-matched": r.matched});
        const account = element("td");
        account.append(r.account_id ? element("a", r.account_id, {href: "/accounts/" + encodeURIComponent(r.account_id)})
                                    : element("span", "no account", {class: "muted"}));
        row.append(account, element("td", r.customer_name || ""), element("td", r.service_address || ""),
                   element("td", r.apn || ""), element("td", r.status || ""),
                   element("td", (MATCHED[r.matched] || r.matched) + (r.meter_serial ? " " + r.meter_serial : "")));
        body.append(row);
      }
      section.append(table);
    }
    const nav = element("nav", null, {"aria-label": "Result pages", id: "search-pages"});
    if (found.has_more) nav.append(pageLink(found.query, 2, "next", "search-next", "Next page"));
    section.append(nav);
  }

  async function ask(query) {
    const asked = ++latest;
    const response = await fetch("/api/search?q=" + encodeURIComponent(query),
                                 {credentials: "same-origin", headers: {Accept: "application/json"}});
    if (asked !== latest || !response.ok) return;  // a later keystroke's answer wins; errors keep the page
    const found = await response.json();
    if (asked !== latest) return;
    draw(found);
    history.replaceState(null, "", "/search?q=" + encodeURIComponent(query));
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    const query = input.value.trim().replace(/\s+/g, " ");
    if (query.length < 2 || query === section.dataset.query) return;
    timer = setTimeout(function () { ask(query).catch(function () {}); }, WAIT_MS);
  });
})();
