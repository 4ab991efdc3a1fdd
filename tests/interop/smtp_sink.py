"""A real SMTP server on loopback (aiosmtpd) that records every message it accepts.

Usage: smtp_sink.py PORT OUTFILE. Each accepted message is appended to OUTFILE as one JSON
line: {"from", "to", "messageId", "subject", "body"}, decoded as a mail reader would. It prints
"ready" once it listens, and runs until it is killed. The notification tests stop and start
it to play an SMTP server that is down for a while.
"""

import json
import sys
import time
from email import policy
from email.parser import BytesParser

from aiosmtpd.controller import Controller


class Recorder:
    def __init__(self, path):
        self.path = path

    async def handle_DATA(self, server, session, envelope):
        parsed = BytesParser(policy=policy.default).parsebytes(envelope.content)
        record = {
            "from": envelope.mail_from,
            "to": list(envelope.rcpt_tos),
            "messageId": parsed["Message-ID"],
            "subject": parsed["Subject"],
            "body": parsed.get_body(preferencelist=("plain",)).get_content(),
        }
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        return "250 OK"


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Recorder(path), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
