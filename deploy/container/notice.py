#!/usr/bin/env python3
"""notice.py - the mail side of deploy/container/smoke-test.sh and
deploy/systemd/boot-test.sh, against the loopback stack of deploy/local/up.sh.

  notice.py forward PORT STAFF BREACH SYSTEM
      a supplier's notice about SYSTEM, forwarded by STAFF with Outlook
      (Swedish) to the watched mailbox BREACH, through Postfix on PORT
  notice.py find MAILDIR TEXT REF
      prints the subject of a mail in MAILDIR (new/ or cur/) whose subject
      has TEXT and REF; exit 1 when there is none
  notice.py send PORT FROM TO FILE
      the saved message FILE (a new Message-ID) from FROM to TO through
      Postfix on PORT
  notice.py find-text MAILDIR SUBJECT TEXT
      prints the subject of a mail whose subject has SUBJECT and whose
      plain text (its words joined by single spaces) has TEXT; exit 1 when
      there is none
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


def send(port, sender, to, path):
    raw = pathlib.Path(path).read_bytes()
    m = email.message_from_bytes(raw)
    old = m.get("Message-ID", "")
    raw = raw.replace(old.encode(), f"<{uuid.uuid4().hex}@send.example.test>".encode(), 1)
    with smtplib.SMTP("127.0.0.1", int(port), timeout=30) as s:
        s.sendmail(sender, [to], raw)


def find_text(maildir, want, text):
    from email import policy
    root = pathlib.Path(maildir)
    for sub in ("new", "cur"):
        d = root / sub
        for p in sorted(d.glob("*")) if d.is_dir() else []:
            m = email.message_from_bytes(p.read_bytes(), policy=policy.default)
            subj = str(m.get("Subject", ""))
            body = m.get_body(preferencelist=("plain",))
            words = " ".join(body.get_content().split()) if body is not None else ""
            if want in subj and text in words:
                print(subj)
                return 0
    return 1


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "forward":
        forward(*sys.argv[2:])
    elif len(sys.argv) == 5 and sys.argv[1] == "find":
        sys.exit(find(*sys.argv[2:]))
    elif len(sys.argv) == 6 and sys.argv[1] == "send":
        send(*sys.argv[2:])
    elif len(sys.argv) == 5 and sys.argv[1] == "find-text":
        sys.exit(find_text(*sys.argv[2:]))
    else:
        sys.exit(__doc__)
