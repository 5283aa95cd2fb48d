#!/usr/bin/env python3
"""Sends sample breach notices to the shared mailbox of the loopback stack and
measures, on those samples, how long breachwatch takes from SMTP accept to the
acknowledgement in the forwarder's (or the DPO's) INBOX. Python standard library only. Used by demo.sh."""
import argparse
import imaplib
import smtplib
import ssl
import statistics
import time
import uuid
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

SV_MONTHS = ["januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
             "september", "oktober", "november", "december"]


def stockholm(t):
    # Europe/Stockholm without tzdata: CEST from the last Sunday of March 01:00 UTC
    # to the last Sunday of October 01:00 UTC.
    def last_sunday(y, m):
        d = datetime(y, m + 1, 1, 1, tzinfo=timezone.utc) - timedelta(days=1)
        return d - timedelta(days=(d.weekday() + 1) % 7)
    start, end = last_sunday(t.year, 3), last_sunday(t.year, 10)
    return t + timedelta(hours=2 if start <= t < end else 1)


def sv_outlook(t):
    l = stockholm(t)
    return f"den {l.day} {SV_MONTHS[l.month - 1]} {l.year} {l.hour:02d}:{l.minute:02d}"


def outlook_forward(msgid, hours_ago, subject, body, supplier):
    now = datetime.now(timezone.utc)
    orig = now - timedelta(hours=hours_ago)
    return f"""From: Sam Staff <staff@example.test>
To: breach@example.test
Subject: VB: {subject}
Date: {format_datetime(now)}
Message-ID: <{msgid}>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hej! Det här kom till funktionsbrevlådan men lästes först nu.

Sam Staff

________________________________
Från: {supplier}
Skickat: {sv_outlook(orig)}
Till: IT-support <it-support@example.test>
Ämne: {subject}

{body}
"""


def direct(msgid):
    now = datetime.now(timezone.utc)
    return f"""From: Skolportalen Support <security@skolportalen.example>
To: breach@example.test
Subject: Information about a data breach in Skolwebben
Date: {format_datetime(now)}
Message-ID: <{msgid}>
Content-Type: text/plain; charset=utf-8

Dear customer,

On {now:%B %d, %Y} we detected unauthorised access to Skolwebben. Names and
personal identity numbers of up to 1,000 pupils may be affected.

Skolportalen Nordic AB
"""


SAMPLES = [
    (71, "Viktig information om dataintrång hos Provdata",
     "Provdata Sverige AB har drabbats av ett dataintrång i ProvWeb. Databasen innehåller\n"
     "patienters namn, personnummer och provsvar.\n\nProvdata Sverige AB",
     "Provdata Kundservice <noreply@provdata.example>"),
    (30, "Cyberattack mot trygghetslarm",
     "Larmcentralen Nord AB utsattes i natt för en cyberattack. Trygghetslarm i hemtjänsten\n"
     "kan ha påverkats. Namn och adresser till brukare finns i systemet LarmNord.\n\nLarmcentralen Nord AB",
     "Larmcentralen Nord <drift@larmnord.example>"),
    (2, "Felskickad lönefil",
     "En lönefil med namn och kontonummer skickades av misstag till fel mottagare.\n\nLönepartner AB",
     "Lönepartner <support@lonepartner.example>"),
]


def imap_login(args, user):
    ctx = ssl.create_default_context(cafile=args.ca)
    m = imaplib.IMAP4_SSL("127.0.0.1", args.imaps_port, ssl_context=ctx)
    m.login(user, args.password)
    return m


def wait_reply(m, msgid, timeout=30.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        m.select("INBOX")
        typ, data = m.search(None, "HEADER", "In-Reply-To", f"<{msgid}>")
        if typ == "OK" and data and data[0].split():
            return True
        time.sleep(0.02)
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ca", required=True)
    ap.add_argument("--smtp-port", type=int, default=2525)
    ap.add_argument("--imaps-port", type=int, default=3993)
    ap.add_argument("--password", default="secret")
    args = ap.parse_args()

    # The latency is measured on the samples themselves, one at a time: extra
    # measuring notices would leave their own cases in the demo's register.
    smtp = smtplib.SMTP("127.0.0.1", args.smtp_port)
    staff = imap_login(args, "staff@example.test")
    dpo = imap_login(args, "dpo@example.test")
    times = []

    def send(sender, raw, msgid, inbox):
        smtp.sendmail(sender, ["breach@example.test"], raw)
        t0 = time.monotonic()  # sendmail returned: Postfix accepted the message
        if wait_reply(inbox, msgid):
            times.append(time.monotonic() - t0)

    print("sending sample notices:")
    for hours, subject, body, supplier in SAMPLES:
        mid = f"{uuid.uuid4()}@staff.example.test"
        send("staff@example.test", outlook_forward(mid, hours, subject, body, supplier).encode(),
             mid, staff)
        print(f"  forwarded by staff, supplier mail {hours} h old: {subject}")
    mid = f"{uuid.uuid4()}@skolportalen.example"
    send("security@skolportalen.example", direct(mid).encode(), mid, dpo)
    print("  sent directly by a supplier (acknowledged to the DPO)")
    smtp.quit()
    staff.logout()
    dpo.logout()
    if times:
        print(f"\nSMTP accept -> acknowledgement in staff's INBOX, {len(times)} runs: "
              f"median {statistics.median(times):.2f} s, min {min(times):.2f} s, max {max(times):.2f} s")
    else:
        print("\nno acknowledgement arrived: see var/breachwatch.log")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
