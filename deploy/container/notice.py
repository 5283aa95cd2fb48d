#!/usr/bin/env python3
"""notice.py - the mail side of deploy/container/smoke-test.sh and
deploy/systemd/boot-test.sh, against the loopback stack of deploy/local/up.sh.

  notice.py forward PORT STAFF BREACH SYSTEM
      a supplier's notice about SYSTEM, forwarded by STAFF with Outlook
      (Swedish) to the watched mailbox BREACH, through Postfix on PORT
  notice.py find MAILDIR TEXT REF
      prints the subject of a mail in MAILDIR (new/ or cur/) whose subject
      has TEXT and REF; exit 1 when there is none
"""
import datetime
import email
import email.header
import pathlib
import smtplib
import sys
import uuid
import zoneinfo
from email.utils import format_datetime

MONTHS = ["januari", "februari", "mars", "april", "maj", "juni", "juli",
          "augusti", "september", "oktober", "november", "december"]


def forward(port, staff, breach, system):
    now = datetime.datetime.now(datetime.timezone.utc)
    # The supplier's mail reached the municipality two hours ago; Outlook (sv)
    # writes that in Stockholm time.
    orig = (now - datetime.timedelta(hours=2)).astimezone(zoneinfo.ZoneInfo("Europe/Stockholm"))
    sent = f"den {orig.day} {MONTHS[orig.month - 1]} {orig.year} {orig:%H:%M}"
    body = f"""From: Sam Staff <{staff}>
To: {breach}
Subject: VB: Säkerhetsincident i {system}
Date: {format_datetime(now)}
Message-ID: <fwd-{uuid.uuid4().hex}@staff.example.test>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hej! Det här låg i funktionsbrevlådan.

Sam Staff

________________________________
Från: Kundservice <noreply@provdata.example>
Skickat: {sent}
Till: IT-support <it-support@example.test>
Ämne: Säkerhetsincident i {system}

Till våra kunder

Provdata Sverige AB har drabbats av ett dataintrång i driftmiljön där tjänsten {system} körs.
Intrånget upptäcktes och angriparens åtkomst är stängd. Databasen innehåller patienters namn,
personnummer och provsvar.

Med vänliga hälsningar
Provdata Sverige AB
""".replace("\n", "\r\n").encode()
    with smtplib.SMTP("127.0.0.1", int(port), timeout=30) as s:
        s.sendmail(staff, [breach], body)


def find(maildir, want, ref):
    root = pathlib.Path(maildir)
    for sub in ("new", "cur"):
        d = root / sub
        for p in sorted(d.glob("*")) if d.is_dir() else []:
            m = email.message_from_bytes(p.read_bytes())
            subj = str(email.header.make_header(email.header.decode_header(m.get("Subject", ""))))
            if want in subj and ref in subj:
                print(subj)
                return 0
    return 1


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "forward":
        forward(*sys.argv[2:])
    elif len(sys.argv) == 5 and sys.argv[1] == "find":
        sys.exit(find(*sys.argv[2:]))
    else:
        sys.exit(__doc__)
