"""Staff search benchmark (issue 11): 100,000 accounts, search latency by layer.

    .venv/bin/python services/accounts/benchmarks/search.py [--accounts 100000] [--rounds 5] [--load-seconds 30]

1. Creates benchmark databases (prefix bench<random>_) and a RabbitMQ vhost, migrates accounts, metering and
   the gateway (`python -m cis_runtime.edge.launch accounts metering gateway --prepare`), and seeds with SQL
   100,000 customers, parcels, connections and open accounts (100 first names x 100 surnames, so a surname
   matches ~1,000 accounts and a full name ~10; one in ten mailing addresses a PO box), and in metering the
   meter installed on each connection with an AMI endpoint id.
2. Starts accounts and metering as their own processes and the gateway under gunicorn (as cis_runtime.suite
   does), with an administrator's bootstrap API token.
3. For a mix of queries (APN, APN digits, account number, full name, surname, email, phone, street, a two-letter
   prefix, meter serial, AMI endpoint), one at a time, times: the search SQL alone (the statement
   accounts.search_accounts runs, straight to PostgreSQL), the accounts.search_accounts RPC, and
   GET /api/search through the gateway (HTTP, login by token, accounts and metering in parallel, merged).
   Prints p50/p95 per layer and per query kind for SQL and the gateway.
4. Open loop (`--load-seconds`): 20 staff users each making a search a second (requests sent on schedule,
   latency counted from the scheduled instant), p50/p95/max through the gateway; then closed loop, 6 clients
   back to back: the maximum searches per second.
Figures are printed, not asserted (the issue's bar: search p95 <= 50 ms through the gateway). On a shared
machine they are pessimistic. Everything it created is removed at the end.
"""
import argparse
import os
import random
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[3]
SERVICES = ("accounts", "metering", "gateway")
FIRST = ["Ana", "Bo", "Carmen", "David", "Elena", "Frank", "Grace", "Hector", "Irene", "Jose", "Karen", "Luis",
         "Maria", "Nora", "Oscar", "Paula", "Quinn", "Rosa", "Sam", "Teresa", "Uma", "Victor", "Wendy", "Xavier",
         "Yolanda", "Zoe", "Adam", "Beth", "Carlos", "Diana", "Eric", "Fiona", "Gabriel", "Hannah", "Ivan",
         "Julia", "Kevin", "Laura", "Miguel", "Nina", "Omar", "Priya", "Raul", "Sofia", "Tom", "Ursula",
         "Vera", "Will", "Ximena", "Yusuf", "Alma", "Bruno", "Celia", "Dario", "Esther", "Felix", "Gloria",
         "Hugo", "Ines", "Jorge", "Kim", "Lena", "Mateo", "Noel", "Olga", "Pedro", "Rita", "Sergio", "Tina",
         "Ulises", "Valeria", "Walter", "Ada", "Blanca", "Cesar", "Dolores", "Emilio", "Flor", "Gustavo",
         "Helen", "Ismael", "Juana", "Kyle", "Lucia", "Marco", "Nadia", "Oliver", "Pilar", "Ramon", "Susana",
         "Tomas", "Ulla", "Vicente", "Wanda", "Yara", "Zara", "Alan", "Berta", "Cruz", "Dora"]
LAST = ["Garcia", "Smith", "Martinez", "Johnson", "Lopez", "Williams", "Hernandez", "Brown", "Gonzalez", "Jones",
        "Rodriguez", "Miller", "Perez", "Davis", "Sanchez", "Wilson", "Ramirez", "Anderson", "Torres", "Taylor",
        "Flores", "Thomas", "Rivera", "Moore", "Gomez", "Jackson", "Diaz", "Martin", "Reyes", "Lee", "Morales",
        "Thompson", "Cruz", "White", "Ortiz", "Harris", "Gutierrez", "Clark", "Chavez", "Lewis", "Ramos",
        "Robinson", "Ruiz", "Walker", "Alvarez", "Young", "Mendoza", "Allen", "Castillo", "King", "Vasquez",
        "Wright", "Moreno", "Scott", "Herrera", "Green", "Medina", "Baker", "Aguilar", "Adams", "Vargas",
        "Nelson", "Castro", "Hill", "Guzman", "Campbell", "Fernandez", "Mitchell", "Romero", "Roberts",
        "Jimenez", "Carter", "Silva", "Phillips", "Delgado", "Evans", "Soto", "Turner", "Contreras", "Parker",
        "Salazar", "Collins", "Rojas", "Edwards", "Luna", "Stewart", "Ortega", "Morris", "Guerrero", "Murphy",
        "Estrada", "Cook", "Nunez", "Rogers", "Lindqvist", "Morgan", "Pena", "Peterson", "Navarro", "Cooper"]
STREETS = ["Orchard Ln", "Signal St", "Ojai Ave", "Montgomery St", "Grand Ave", "Foothill Rd", "Creek Rd",
           "Canada St", "Matilija St", "Fulton St", "Bryant St", "El Roblar Dr", "Besant Rd", "Lomita Ave",
           "Maricopa Hwy", "Thacher Rd", "Reeves Rd", "McNell Rd", "Gridley Rd", "Pleasant Ave"]


def sql_list(values: list[str]) -> str:
    return "array[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def apn_of(n: int) -> str:
    digits = f"{(n * 7919) % 1_000_000_000:09d}"
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"


def person_of(n: int) -> tuple[str, str]:
    return FIRST[n % len(FIRST)], LAST[(n // len(FIRST)) % len(LAST)]


def phone_of(n: int) -> str:
    return f"(805) {(n // 10000) % 1000:03d}-{n % 10000:04d}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5, help="times each query of the mix is asked per layer")
    parser.add_argument("--load-seconds", type=int, default=30)
    args = parser.parse_args()
    run_id = uuid.uuid4().hex[:6]
    vhost = f"cis_bench_{run_id}"
    amqp_base = os.environ.get("CIS_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
    os.environ.update({"CIS_DB_PREFIX": f"bench{run_id}_", "CIS_LOG_LEVEL": "WARNING",
                       "CIS_AMQP_URI": amqp_base.rstrip("/") + "/" + quote(vhost, safe=""),
                       "CIS_GATEWAY_PORT": str(free_port()), "CIS_GATEWAY_BIND": "127.0.0.1",
                       "CIS_GATEWAY_SECRET_KEY": secrets.token_hex(32)})
    # PostgreSQL is shared (max_connections 100 on the development machine) and there are 2 cores: few workers
    # and small pools (accounts and metering at most 4 connections each, the gateway at most its 6 threads).
    for name, value in (("CIS_MAX_WORKERS", "3"), ("CIS_DB_POOL", "2"), ("CIS_GATEWAY_WORKERS", "1"),
                        ("CIS_GATEWAY_THREADS", "6")):
        os.environ.setdefault(name, value)
    from cis_gateway.admin import new_token
    token = new_token()
    os.environ["CIS_GATEWAY_BOOTSTRAP_TOKEN"] = token
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True, capture_output=True)
    subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
                   check=True, capture_output=True)
    processes = []
    try:
        subprocess.run([sys.executable, "-m", "cis_runtime.edge.launch", *SERVICES, "--prepare"], check=True,
                       cwd=REPO, stdout=subprocess.DEVNULL)
        seed(args.accounts)
        for service in SERVICES:
            processes.append(start(service))
        queries = query_mix(args.accounts)
        print("load average before timing (1/5/15 min): %.1f %.1f %.1f on %d cores" % (*os.getloadavg(), os.cpu_count()))
        time_layers(queries, args.rounds, token)
        if args.load_seconds:
            open_loop(queries, token, users=20, seconds=args.load_seconds)
            closed_loop(queries, token, clients=6, seconds=min(args.load_seconds, 15))
        print("load average after (1/5/15 min): %.1f %.1f %.1f" % os.getloadavg())
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        drop_everything(vhost)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def engine(service: str):
    import sqlalchemy as sa

    from cis_runtime import config
    return sa.create_engine(config.database_url(service))


def seed(accounts: int) -> None:
    import sqlalchemy as sa
    started = time.perf_counter()
    first, last, streets = sql_list(FIRST), sql_list(LAST), sql_list(STREETS)
    person = f"({first})[1 + n % {len(FIRST)}] || ' ' || ({last})[1 + (n / {len(FIRST)}) % {len(LAST)}]"
    street = f"(1 + n % 9000)::text || ' ' || ({streets})[1 + (n / 7) % {len(STREETS)}]"
    digits = "lpad(((n::bigint * 7919) % 1000000000)::text, 9, '0')"
    apn = f"substr({digits}, 1, 3) || '-' || substr({digits}, 4, 3) || '-' || substr({digits}, 7, 3)"
    accounts_db = engine("accounts")
    with accounts_db.begin() as db:
        db.execute(sa.text(f"""
            insert into customers (customer_id, name, email, phone, mailing_address, preferred_language)
            select 'C' || lpad(n::text, 7, '0'), {person},
                   lower(replace({person}, ' ', '.')) || n || '@example.org',
                   '(805) ' || lpad(((n / 10000) % 1000)::text, 3, '0') || '-' || lpad((n % 10000)::text, 4, '0'),
                   jsonb_build_object('line1', case when n % 10 = 0 then 'PO Box ' || n else {street} end,
                                      'line2', null, 'city', 'Ojai', 'state', 'CA', 'zip', '93023'), 'en'
            from generate_series(1, :n) n"""), {"n": accounts})
        db.execute(sa.text(f"""
            insert into parcels (apn, situs_address, owner_of_record, owner_mailing_address)
            select {apn}, jsonb_build_object('line1', {street}, 'line2', null, 'city', 'Ojai', 'state', 'CA',
                                             'zip', '93023'), {person}, null
            from generate_series(1, :n) n"""), {"n": accounts})
        db.execute(sa.text(f"""
            insert into connections (connection_id, apn, service_type, authorized_meter_size, dwelling_units, status)
            select 'SC' || lpad(n::text, 7, '0'), {apn}, 'water', '5/8', 1, 'authorized'
            from generate_series(1, :n) n"""), {"n": accounts})
        db.execute(sa.text("""
            insert into accounts (account_id, customer_id, connection_id, customer_class, bill_cycle, opened_on, status)
            select 'A' || lpad(n::text, 7, '0'), 'C' || lpad(n::text, 7, '0'), 'SC' || lpad(n::text, 7, '0'),
                   'residential', '1', '2025-01-01', 'open'
            from generate_series(1, :n) n"""), {"n": accounts})
    with accounts_db.connect().execution_options(isolation_level="AUTOCOMMIT") as db:
        db.execute(sa.text("vacuum analyze"))
    accounts_db.dispose()
    metering_db = engine("metering")
    with metering_db.begin() as db:
        db.execute(sa.text("""
            insert into meters (serial, size, make, model, register_digits, unit, status, ami_endpoint_id)
            select 'BDG' || lpad(n::text, 8, '0'), '5/8', 'Badger', 'M25', 6, 'HCF', 'installed', (1300000000 + n)::text
            from generate_series(1, :n) n"""), {"n": accounts})
        db.execute(sa.text("""
            insert into installations (serial, connection_id, installed_on, installed_at)
            select 'BDG' || lpad(n::text, 8, '0'), 'SC' || lpad(n::text, 7, '0'), '2025-01-01',
                   timestamptz '2025-01-01 00:00 America/Los_Angeles' from generate_series(1, :n) n"""), {"n": accounts})
        db.execute(sa.text(f"""
            insert into service_accounts (account_id, connection_id, status, opened_on, service_address, apn)
            select 'A' || lpad(n::text, 7, '0'), 'SC' || lpad(n::text, 7, '0'), 'open', '2025-01-01',
                   {street} || ', Ojai, CA 93023', {apn} from generate_series(1, :n) n"""), {"n": accounts})
        db.execute(sa.text("analyze"))
    metering_db.dispose()
    print(f"seeded {accounts:,} accounts (and their meters) in {time.perf_counter() - started:.1f} s")


def start(service: str) -> subprocess.Popen:
    command = ([sys.executable, "-m", "gunicorn", "--config", "python:cis_gateway.gunicorn_config"]
               if service == "gateway" else [sys.executable, "-m", "cis_runtime.edge.launch", service])
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 90
    for line in process.stdout:
        if line.startswith(b"READY"):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"{service} not ready in 90 s")
    else:
        raise RuntimeError(f"{service} exited before it was ready")
    threading.Thread(target=process.stdout.read, daemon=True).start()  # drain, never block the service
    return process


def query_mix(accounts: int) -> list[tuple[str, str]]:
    """(kind, query): each kind asked for a few different accounts."""
    pick = random.Random(11)
    mix = []
    for n in (pick.randint(1, accounts) for _ in range(4)):
        first, last = person_of(n)
        mix += [("apn", apn_of(n)), ("apn digits", apn_of(n).replace("-", "")[:6]),
                ("account number", f"A{n:07d}"), ("full name", f"{first} {last}"), ("surname", last.lower()),
                ("email", f"{first.lower()}.{last.lower()}{n}@"), ("phone", phone_of(n)),
                ("street", f"{1 + n % 9000} {STREETS[(n // 7) % len(STREETS)].split()[0]}"),
                ("two letters", first[:2]), ("meter serial", f"BDG{n:08d}"), ("AMI endpoint", str(1300000000 + n))]
    return mix


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def shown(values: list[float]) -> str:
    return (f"p50 {percentile(values, 0.5) * 1000:6.1f} ms  p95 {percentile(values, 0.95) * 1000:6.1f} ms  "
            f"max {max(values) * 1000:6.1f} ms  (n={len(values)})")


def time_layers(queries, rounds: int, token: str) -> None:
    import requests
    import sqlalchemy as sa
    from nameko.standalone.rpc import ClusterRpcProxy

    from cis_accounts.domain.search import search_patterns
    from cis_accounts.service_layer.search import search_parameters, search_sql
    from cis_runtime import config

    def sql_search(db, query):
        patterns = search_patterns(query)
        return db.execute(sa.text(search_sql(patterns.digits is not None)), search_parameters(patterns, 20, 0)).all()

    timings = {"sql": {}, "rpc": {}, "gateway": {}}
    accounts_db = engine("accounts")
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    base = f"http://127.0.0.1:{os.environ['CIS_GATEWAY_PORT']}"
    with accounts_db.connect() as db, ClusterRpcProxy({"AMQP_URI": config.amqp_uri()}, timeout=30) as rpc:
        for kind, query in queries[:6]:  # warm the caches and every path once
            sql_search(db, query)
            rpc.accounts.search_accounts({"query": query})
            http.get(base + "/api/search", params={"q": query}, timeout=30).raise_for_status()
        for _ in range(rounds):
            for kind, query in queries:
                started = time.perf_counter()
                sql_search(db, query)
                timings["sql"].setdefault(kind, []).append(time.perf_counter() - started)
                started = time.perf_counter()
                rpc.accounts.search_accounts({"query": query})
                timings["rpc"].setdefault(kind, []).append(time.perf_counter() - started)
                started = time.perf_counter()
                http.get(base + "/api/search", params={"q": query}, timeout=30).raise_for_status()
                timings["gateway"].setdefault(kind, []).append(time.perf_counter() - started)
        for query in ("garcia", "Ma", queries[0][1]):
            patterns = search_patterns(query)
            plan = db.scalars(sa.text("explain (analyze, buffers off, timing off, summary on) " +
                                      search_sql(patterns.digits is not None)), search_parameters(patterns, 20, 0)).all()
            scans = sorted({" ".join(part for part in found if part) for line in plan
                            for found in re.findall(r"(\w+ Scan)(?: using (\S+))? on (\S+)", line)})
            print(f"plan of {query!r}: scans {', '.join(scans)}; {plan[-1].strip()}")
    accounts_db.dispose()
    print("\nsearch, one request at a time, all kinds together:")
    for layer, label in (("sql", "search SQL alone (accounts DB)"), ("rpc", "accounts.search_accounts RPC"),
                         ("gateway", "GET /api/search (gateway, accounts + metering)")):
        print(f"  {label:48s} {shown([t for ts in timings[layer].values() for t in ts])}")
    print("\nby kind of query:                  search SQL (p50 / p95)      gateway (p50 / p95)")
    for kind in timings["sql"]:
        sql, gateway = timings["sql"][kind], timings["gateway"][kind]
        print(f"  {kind:30s} {percentile(sql, .5) * 1000:7.1f} / {percentile(sql, .95) * 1000:6.1f} ms"
              f"      {percentile(gateway, .5) * 1000:7.1f} / {percentile(gateway, .95) * 1000:6.1f} ms")


def open_loop(queries, token: str, users: int, seconds: int) -> None:
    """`users` staff each searching once a second, on schedule, whether or not the last answer came."""
    import requests
    base = f"http://127.0.0.1:{os.environ['CIS_GATEWAY_PORT']}"
    local = threading.local()
    pick = random.Random(7)
    latencies, errors = [], []

    def one(scheduled: float, query: str) -> None:
        http = getattr(local, "http", None)
        if http is None:
            http = local.http = requests.Session()
            http.headers["Authorization"] = f"Bearer {token}"
        try:
            http.get(base + "/api/search", params={"q": query}, timeout=10).raise_for_status()
            latencies.append(time.perf_counter() - scheduled)
        except Exception as exc:
            errors.append(type(exc).__name__)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=users * 3) as pool:
        for i in range(users * seconds):
            scheduled = started + i / users  # evenly spread: users requests a second in all
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, scheduled, pick.choice(queries)[1])
    print(f"\nopen loop: {users} users x 1 search/s for {seconds} s through the gateway (latency from the scheduled "
          f"instant):\n  {shown(latencies)}  errors {len(errors)}")


def closed_loop(queries, token: str, clients: int, seconds: int) -> None:
    import requests
    base = f"http://127.0.0.1:{os.environ['CIS_GATEWAY_PORT']}"
    deadline = time.perf_counter() + seconds
    counts, errors = [], []

    def client(number: int) -> None:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {token}"
        pick, done = random.Random(number), 0
        while time.perf_counter() < deadline:
            try:
                http.get(base + "/api/search", params={"q": pick.choice(queries)[1]}, timeout=10).raise_for_status()
                done += 1
            except Exception as exc:
                errors.append(type(exc).__name__)
        counts.append(done)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"closed loop: {clients} clients back to back for {seconds} s: {sum(counts) / seconds:,.0f} searches/s, errors {len(errors)}")


def drop_everything(vhost: str) -> None:
    from cis_runtime import config, db
    for service in SERVICES:
        try:
            db.drop_database(config.database_url(service))
        except Exception as exc:  # keep dropping the others
            print(f"could not drop the {service} database: {exc}")
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True)


if __name__ == "__main__":
    main()
