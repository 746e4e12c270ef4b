"""A local SMTP sink for the demo: accepts every message and saves it as a .eml file."""
from pathlib import Path

from aiosmtpd.controller import Controller


class SaveToFolder:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count = len(list(self.folder.glob("*.eml")))

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        (self.folder / f"{self.count:06d}.eml").write_bytes(envelope.original_content)
        return "250 Message accepted"


def start_mail_sink(host: str, port: int, folder: Path) -> Controller:
    controller = Controller(SaveToFolder(folder), hostname=host, port=port)
    controller.start()
    return controller
