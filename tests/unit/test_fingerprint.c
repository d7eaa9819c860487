/* The fingerprint rules (conf/fingerprints.conf, compiled in): a real sample for every rule,
 * each with a comment naming where that form of banner, EHLO reply or refusal is documented;
 * every rule decides at least one sample; parse errors name FILE:LINE; hostile texts (long,
 * binary, built to make a pattern backtrack) end quickly with no match or the right one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fingerprint.h"

struct sample {
	enum fp_source where;
	const char *text, *product, *version, *os;
};

static const struct sample samples[] = {
    /* postconf(5) smtpd_banner example "$myhostname ESMTP $mail_name ($mail_version)"; Debian-style
       suffix as in nmap-service-probes 'ESMTP Postfix \(([-.\w]+)\) \(([-.\w ]+)\)' */
    {FP_BANNER, "mx.example.org ESMTP Postfix (3.7.11) (Debian)", "postfix", "3.7.11", "Debian"},
    /* github.com/aquasecurity/postee issue 236 (tcpdump of a real server); Debian's main.cf
       smtpd_banner */
    {FP_BANNER, "schmu.net ESMTP Postfix (Debian/GNU)", "postfix", "", "Debian/GNU"},
    /* Ubuntu's main.cf: smtpd_banner = $myhostname ESMTP $mail_name (Ubuntu) */
    {FP_BANNER, "mail.example.com ESMTP Postfix (Ubuntu)", "postfix", "", "Ubuntu"},
    /* postconf(5): smtpd_banner default $myhostname ESMTP $mail_name
       (datacadamia.com/marketing/email/banner) */
    {FP_BANNER, "server01.bytle.net ESMTP Postfix", "postfix", "", ""},
    /* nmap scripts/showSMTPVersion.nse @output */
    {FP_BANNER, "mail.foo.com mx-2.bar.com ESMTP Exim 4.64", "exim", "4.64", ""},
    /* Exim spec, smtp_banner default "$smtp_active_hostname ESMTP Exim $version_number $tod_full"
     */
    {FP_BANNER, "mx.example.org ESMTP Exim 4.96 Sat, 28 Nov 2026 16:00:00 +0000", "exim", "4.96",
     ""},
    /* Debian exim4 conf.d main/02_exim4-config_options, MAIN_SMTP_BANNER "... ESMTP Exim
       ${version_number} (Debian package MAIN_PACKAGE_VERSION) ${tod_full}" */
    {FP_BANNER,
     "mx.example.org ESMTP Exim 4.92 (Debian package 4.92-8+deb10u6) Sat, 28 Nov 2026 16:00:00 "
     "+0000",
     "exim", "4.92", "Debian"},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for Sendmail:
       'E?SMTP Sendmail (\d[^; ]+)' */
    {FP_BANNER, "mx.example.com ESMTP Sendmail 8.15.2/8.15.2; Sat, 28 Nov 2026 16:00:00 GMT",
     "sendmail", "8.15.2", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for Sendmail on
       AIX: 'E?SMTP Sendmail AIX([\d.]+)/(\d[^; ]+)' */
    {FP_BANNER, "aix.example.com ESMTP Sendmail AIX5.3/8.13.4; Sat, 28 Nov 2026 16:00:00 GMT",
     "sendmail", "8.13.4", "AIX5.3"},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for old Sendmail:
       '([-\w_.]+) Sendmail (\S+) ready at' */
    {FP_BANNER, "old.example.com Sendmail 8.6.12/8.6.9 ready at Sat, 28 Nov 1998 16:00:00 GMT",
     "sendmail", "8.6.12", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for Sendmail
       without version: '(\S+) E?SMTP Sendmail;' */
    {FP_BANNER, "mx.example.com ESMTP Sendmail; Sat, 28 Nov 2026 16:00:00 GMT", "sendmail", "", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for OpenSMTPD:
       '([\w_.-]+) ESMTP OpenSMTPD' */
    {FP_BANNER, "mx.example.org ESMTP OpenSMTPD", "opensmtpd", "", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for Haraka:
       '([\w.-]+) ESMTP Haraka (\d[\w._-]*) ready' */
    {FP_BANNER, "mx.example.org ESMTP Haraka 2.8.25 ready", "haraka", "2.8.25", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for Apache JAMES:
       '([-\w_.]+) SMTP Server \(JAMES SMTP Server ([\w.]+)\) ready' */
    {FP_BANNER,
     "mail.example.org SMTP Server (JAMES SMTP Server 2.3.2) ready Sat, 28 Nov 2026 16:00:00 +0000 "
     "(UTC)",
     "james", "2.3.2", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for Courier:
       '\[[-\w_.]+\] Courier Mail Server ([-\w_.]+) ESMTP service ready' */
    {FP_BANNER, "[mail.example.org] Courier Mail Server 0.75 ESMTP service ready", "courier",
     "0.75", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for ZMailer:
       'ZMailer Server ([\w.]+) #\d+ ESMTP ready at' */
    {FP_BANNER,
     "mx.example.fi ZMailer Server 2.99.57 #1 ESMTP ready at Sat, 28 Nov 2026 16:00:00 +0200",
     "zmailer", "2.99.57", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for Smail: '[^ ]+
       Smail-([^ ]+) ' */
    {FP_BANNER,
     "mx.example.org Smail-3.2.0.115 (#1 2003-Oct-1) ready at Sat, 28 Nov 2026 16:00:00 +0000 "
     "(GMT)",
     "smail", "3.2.0.115", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for qpsmtpd:
       '(\S+) ESMTP qpsmtpd (\d\S+) ready;' */
    {FP_BANNER, "mx.example.org ESMTP qpsmtpd 0.84 ready; send us your mail, but not your spam.",
     "qpsmtpd", "0.84", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for MasqMail:
       '([-.+\w]+) MasqMail (\d[-.\w]+) ESMTP' */
    {FP_BANNER, "mx.example.org MasqMail 0.2.21 ESMTP", "masqmail", "0.2.21", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for amavisd-new:
       '\[([-\w_.]+)\] ESMTP amavisd-new service ready' */
    {FP_BANNER, "[filter.example.org] ESMTP amavisd-new service ready", "amavisd-new", "", ""},
    /* aiosmtpd documentation, SMTP(ident=...): the default ident is "Python SMTP {version}" */
    {FP_BANNER, "relay.lab Python SMTP 1.4.6", "aiosmtpd", "1.4.6", ""},
    /* the same with its ident set (tests/lab/authrelay.py): no version to give */
    {FP_BANNER, "py-auth.lab ESMTP Python SMTP (aiosmtpd)", "aiosmtpd", "", ""},
    /* relaytrap's own sink greeting, sink/session.c ("220 %s ESMTP relaytrap-sink") */
    {FP_BANNER, "sink.lab ESMTP relaytrap-sink", "relaytrap", "", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for Exchange 5.5:
       'ESMTP Server \(Microsoft Exchange Internet Mail Service ([-\w.]+)\) ready' */
    {FP_BANNER,
     "EXCH55.corp.example ESMTP Server (Microsoft Exchange Internet Mail Service 5.5.2448.0) ready",
     "exchange", "5.5.2448.0", "Windows"},
    /* Microsoft Exchange Server Analyzer, 'Possible SMTP proxy detected' (docs.microsoft.com
       aa997127): "220 Computer Name . Domain Name .com Microsoft ESMTP MAIL Service, Version:
       Version Number ready at Date Time +0000" */
    {FP_BANNER,
     "mail.corp.example Microsoft ESMTP MAIL Service, Version: 6.0.3790.3959 ready at  Sat, 28 Nov "
     "2026 16:00:00 +0100",
     "ms-smtp", "6.0.3790.3959", "Windows"},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for Microsoft
       SMTP: '([-.+\w]+) Microsoft SMTP MAIL ready at.*Version: ([-\w.]+)' (a 220- line) */
    {FP_BANNER,
     "iis.example.com Microsoft SMTP MAIL ready at Sat, 28 Nov 2026 16:00:00 +0100 Version: "
     "5.5.1877.197.19",
     "ms-smtp", "5.5.1877.197.19", "Windows"},
    /* github.com/PHPMailer/PHPMailer issue 2076 (an Exchange 2010+ server's greeting) */
    {FP_BANNER,
     "xxxxxx.xxx.local Microsoft ESMTP MAIL Service ready at Tue, 30 Jun 2020 12:32:44 +0200",
     "exchange", "", "Windows"},
    /* github.com/PHPMailer/PHPMailer issue 1059 (an Exchange server's EHLO reply) */
    {FP_EHLO,
     "SIZE\nPIPELINING\nDSN\nENHANCEDSTATUSCODES\nSTARTTLS\nX-ANONYMOUSTLS\nAUTH\nX-EXPS GSSAPI "
     "NTLM\n8BITMIME",
     "exchange", "", "Windows"},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for Lotus Domino:
       'ESMTP Service \(Lotus Domino Release (\d[-.\w ]+)\) ready' */
    {FP_BANNER,
     "notes.example.com ESMTP Service (Lotus Domino Release 8.5.3FP6) ready at Sat, 28 Nov 2026 "
     "16:00:00 +0100",
     "domino", "8.5.3FP6", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for Lotus Notes
       SMTP: '([-.\w]+) Lotus SMTP MTA Service Ready' */
    {FP_BANNER, "notes.example.com Lotus SMTP MTA Service Ready", "domino", "", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for GroupWise:
       'GroupWise Internet Agent (\S+) .*?Novell, Inc\.' */
    {FP_BANNER,
     "gw.example.com GroupWise Internet Agent 8.0.2  Copyright (c) 1993-2010 Novell, Inc.  All "
     "rights reserved. Ready",
     "groupwise", "8.0.2", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for Novonyx
       Novell NetMail: 'Novonyx SMTP ready \$Re..sion: *([\d.]+) *\$' */
    {FP_BANNER, "mail.example.com Novonyx SMTP ready $Revision: 2.43 $", "netmail", "", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for Sun Java
       System Messaging Server */
    {FP_BANNER,
     "ms.example.com -- Server ESMTP (Sun Java(tm) System Messaging Server 6.3-6.03 (built Jun  5 "
     "2008; 32bit))",
     "sun-jsms", "6.3-6.03", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for MDaemon:
       '([-.\w]+) ESMTP MDaemon (\d[-.\w]+); ' */
    {FP_BANNER, "mail.example.com ESMTP MDaemon 9.6.6; Sat, 28 Nov 2026 16:00:00 +0100", "mdaemon",
     "9.6.6", "Windows"},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for hMailServer:
       '([-\w_.]+) ESMTP hMailServer ([\w.-]+)' */
    {FP_BANNER, "mail.example.com ESMTP hMailServer 5.6.7-B2425", "hmailserver", "5.6.7-B2425",
     "Windows"},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for hMailServer:
       '\(SMTP\) hMailServer ([\d.]+) - Up since' */
    {FP_BANNER, "(SMTP) hMailServer 4.4.3 - Up since Sat, 28 Nov 2026", "hmailserver", "4.4.3",
     "Windows"},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for IMail:
       '([-.+\w]+) \(IMail ([^)]+)\) NT-ESMTP Server' */
    {FP_BANNER, "mail.example.com (IMail 8.22 2167-1) NT-ESMTP Server X1", "imail", "8.22 2167-1",
     "Windows"},
    /* Mercury/32's RESOURCE/greeting.txt (shipped with XAMPP 1.4.14): "220 somehost.somedomain.com
       Mercury/32 v3.21 ESMTP server ready." */
    {FP_BANNER, "somehost.somedomain.com Mercury/32 v3.21 ESMTP server ready.", "mercury", "3.21",
     "Windows"},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for Mercury Mail:
       '([-.\w]+) Mercury (\d[-.\w]+) ESMTP server ready\.' */
    {FP_BANNER, "mail.example.com Mercury 1.48 ESMTP server ready.", "mercury", "1.48", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for Kerio
       MailServer: 'Kerio MailServer (\d[-.\w]+ patch \d+) ESMTP ready' */
    {FP_BANNER, "mail.example.com Kerio MailServer 6.7.3 patch 1 ESMTP ready", "kerio",
     "6.7.3 patch 1", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for Kerio
       Connect: '([\w._-]+) Kerio Connect ([\w._ -]+) ESMTP ready' */
    {FP_BANNER, "mail.example.com Kerio Connect 9.2.1 ESMTP ready", "kerio", "9.2.1", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for MailEnable:
       'ESMTP MailEnable Service, Version: (\d[\w.]+)- ready at' */
    {FP_BANNER,
     "mail.example.com ESMTP MailEnable Service, Version: 1.986-- ready at 11/28/26 16:00:00",
     "mailenable", "1.986", "Windows"},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for MailEnable
       Enterprise: 'ESMTP MailEnable Service, Version: \d+--([\d.]+) ready at' */
    {FP_BANNER,
     "mail.example.com ESMTP MailEnable Service, Version: 0--10.44 ready at 11/28/26 16:00:00",
     "mailenable", "10.44", "Windows"},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for CommuniGate
       Pro: '([-.\w]+) ESMTP CommuniGate Pro (\d[-.\w]+)' */
    {FP_BANNER, "mail.example.com ESMTP CommuniGate Pro 6.1.18", "communigate", "6.1.18", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for IceWarp:
       '([-\w_.]+) ESMTP IceWarp ([\d.]+)[; ]' */
    {FP_BANNER, "mail.example.com ESMTP IceWarp 12.0.3; Sat, 28 Nov 2026 16:00:00 +0100", "icewarp",
     "12.0.3", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for Merak Mail
       Server (IceWarp's earlier name): '(\S+) ESMTP Merak (\d[^;]+);' */
    {FP_BANNER, "mail.example.com ESMTP Merak 8.9.1; Sat, 28 Nov 2026 16:00:00 +0100", "icewarp",
     "8.9.1", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for Axigen:
       '([-\w_.]+) Axigen ESMTP ready' */
    {FP_BANNER, "mail.example.com Axigen ESMTP ready", "axigen", "", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for XMail:
       '<1\d+\.\d+@([-.\w]+)> \[XMail (\d[-.\w]+) \(([-./\w]+)\) ESMTP Server\] service ready; ' */
    {FP_BANNER,
     "<1606579200.1234@mail.example.com> [XMail 1.27 (Linux/Ix86) ESMTP Server] service ready; "
     "Sat, 28 Nov 2026 16:00:00 +0100",
     "xmail", "1.27", "Linux/Ix86"},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for ArGoSoft Mail
       Server: '([-\w.]+) ArGoSoft Mail Server, Version [\d.]+ \(([\d.]+)\)' */
    {FP_BANNER, "mail.example.com ArGoSoft Mail Server, Version 1.8 (1.8.9.4)", "argosoft",
     "1.8.9.4", "Windows"},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for MailMax:
       '([-\w_.]+) ESMTP MailMax ([\d.]+) [A-Z][a-z][a-z]' */
    {FP_BANNER, "mail.example.com ESMTP MailMax 5.5 Sat, 28 Nov 2026 16:00:00 +0100", "mailmax",
     "5.5", "Windows"},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for VisNetic
       MailServer: '([-.\w]+) ESMTP VisNetic.MailServer.v([-.\w]+); ' */
    {FP_BANNER,
     "mail.example.com ESMTP VisNetic.MailServer.v7.3.4.1; Sat, 28 Nov 2026 16:00:00 +0100",
     "visnetic", "7.3.4.1", "Windows"},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for Eudora
       Internet Mail Server: '(\S+) running Eudora Internet Mail Server (\d\S+)' */
    {FP_BANNER, "mail.example.com running Eudora Internet Mail Server 3.2.6", "eudora", "3.2.6",
     ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for Mirapoint:
       '(\S+) E?SMTP Mirapoint (\d[^\;]+);' */
    {FP_BANNER, "mail.example.com ESMTP Mirapoint 3.8.1-GR; Sat, 28 Nov 2026 16:00:00 +0100",
     "mirapoint", "3.8.1-GR", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for Barracuda
       Spam Firewall: '([-.\w\d]+) ESMTP \([a-fA-F0-9]{32}\)' */
    {FP_BANNER, "spam.example.com ESMTP (0d8d6b2a4e5f4c3b2a1908f7e6d5c4b3)", "barracuda", "", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for IronPort
       (Cisco AsyncOS): '220-([-\w_.]+) ESMTP\r\n220 [-\w_.]+ AsyncOS' */
    {FP_BANNER, "esa.example.com ESMTP\nesa.example.com AsyncOS", "cisco-esa", "", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for FortiMail:
       '([\w._-]+) ESMTP Smtpd; [\w, :]+ ([-+]\d\d\d\d)' */
    {FP_BANNER, "fm.example.com ESMTP Smtpd; Sat, 28 Nov 2026 16:00:00 +0100", "fortimail", "", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for Symantec
       Messaging Gateway: '([\w._-]+) ESMTP Symantec Messaging Gateway' */
    {FP_BANNER, "smg.example.com ESMTP Symantec Messaging Gateway", "symantec-smg", "", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for Trend Micro
       IMSS: '(\S+) Trend Micro InterScan Messaging Security Suite, Version: (\d\S+) ready' */
    {FP_BANNER,
     "imss.example.com Trend Micro InterScan Messaging Security Suite, Version: "
     "7.1-Build_Win32_1394 ready at Sat, 28 Nov 2026",
     "trendmicro", "7.1-Build_Win32_1394", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for Trend Micro
       InterScan VirusWall NT: 'InterScan VirusWall NT ESMTP (\d[-.\w]+) \(build (\d+)\) ready at'
     */
    {FP_BANNER,
     "vw.example.com InterScan VirusWall NT ESMTP 3.52 (build 01/11/2002) ready at Sat, 28 Nov "
     "2026",
     "trendmicro", "3.52", "Windows"},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for MailMarshal:
       '([-\w_.]+) ESMTP MailMarshal \(v([\d.]+)\) Ready' */
    {FP_BANNER, "mm.example.com ESMTP MailMarshal (v6.2.0.2526) Ready", "mailmarshal", "6.2.0.2526",
     ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for McAfee
       WebShield: '(\S+) WebShield SMTP V(\d\S.*?) Network Associates, Inc\. Ready at' */
    {FP_BANNER,
     "ws.example.com WebShield SMTP V4.5 MR1a Network Associates, Inc. Ready at Sat, 28 Nov 2026",
     "webshield", "4.5", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for Postini:
       'Postini E?SMTP (\d+) [\w\d_+/:-]+ ready' */
    {FP_BANNER,
     "Postini ESMTP 154 y6_15_1c0 ready.  CA Business and Professions Code Section 17538.45 "
     "forbids use of this system for unsolicited electronic mail advertisements.",
     "postini", "154", ""},
    /* Stanford CS144 Fall 2020, lab 0 handout section 2.2 (cs144.github.io), the greeting of
       Stanford's MX, a host in Proofpoint's hosted service: "220 mx0b-00000d03.pphosted.com ESMTP
       mfa-m0214089" */
    {FP_BANNER, "mx0b-00000d03.pphosted.com ESMTP mfa-m0214089", "proofpoint", "", ""},
    /* Greenbone community feed, smtpserver_detect.nasl (OID 1.3.6.1.4.1.25623.1.0.10263; a copy
       in github.com/qweasader/gbn): "220 mail.example.com ESMTP Sophos Email Appliance v4.5.3.6"
     */
    {FP_BANNER, "mail.example.com ESMTP Sophos Email Appliance v4.5.3.6", "sophos", "4.5.3.6", ""},
    /* the same file, the form with a text of the administrator's before the product: "220
       mail.example.com ESMTP Example Sophos Email Appliance v4.4.1.1" */
    {FP_BANNER, "mail.example.com ESMTP Example Sophos Email Appliance v4.4.1.1", "sophos",
     "4.4.1.1", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for Cisco PIX
       sanitized smtpd (SMTP fixup): '220 [\*\d\ ]{2,300}' */
    {FP_BANNER, "*******************************0*0*0*0*****2*0*0*2*******", "pix-fixup", "", ""},
    /* nmap-service-probes (github.com/nmap/nmap @db4aefdd), the 'match smtp' line for Check Point
       FireWall-1 SMTP security server */
    {FP_BANNER, "CheckPoint FireWall-1 secure ESMTP server", "checkpoint", "", ""},
    /* Postfix smtpd_check.c, reject_unauth_destination ("Relay access denied"), as quoted in many
       Postfix bug reports */
    {FP_ERROR, "5.7.1 <rt-x@sink.example>: Relay access denied", "postfix", "", ""},
    /* Exim's default configure (src/configure.default), acl_check_rcpt: require message = relay not
       permitted */
    {FP_ERROR, "relay not permitted", "exim", "", ""},
    /* Sendmail cf/m4/proto.m4, the check_rcpt ruleset's "Relaying denied" refusal */
    {FP_ERROR, "5.7.1 <rt-x@sink.example>... Relaying denied", "sendmail", "", ""},
    /* qmail 1.03 qmail-smtpd.c, err_nogateway() */
    {FP_ERROR, "sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)", "qmail", "",
     ""},
    /* github.com/LukeSmithxyz/emailwiz issue 233, a refusal from mxb-001.gslb.pphosted.com: "550
       5.7.0 Blocked - see https://ipcheck.proofpoint.com/?ip=149.28.244.134" */
    {FP_ERROR, "5.7.0 Blocked - see https://ipcheck.proofpoint.com/?ip=192.0.2.1", "proofpoint", "",
     ""},
};
#define NSAMPLES (sizeof(samples) / sizeof(samples[0]))

static struct fptable *table(void)
{
	static struct fptable *t;
	char err[400];
	if (!t)
		t = fp_parse(fingerprints_default_text, "default", err, sizeof(err));
	if (!t)
		fail_msg("%s", err);
	return t;
}

static int identify(const struct fptable *t, enum fp_source where, const char *text,
                    struct fp_result *r)
{
	const char *lines[32];
	char buf[2048];
	int n = 0;
	struct fp_texts in = {0};
	if (where == FP_BANNER)
		in.banner = text;
	if (where == FP_ERROR) {
		in.errors = &text;
		in.nerrors = 1;
	}
	if (where == FP_EHLO) { /* the extension lines as the host line keeps them */
		snprintf(buf, sizeof(buf), "%s", text);
		for (char *p = strtok(buf, "\n"); p && n < 32; p = strtok(NULL, "\n"))
			lines[n++] = p;
		in.ehlo = lines;
		in.nehlo = n;
	}
	return fp_identify(t, &in, r);
}

static void every_sample(void **st)
{
	(void)st;
	struct fptable *t = table();
	int decided[FP_RULES_MAX + 1] = {0}, rules = 0;
	for (size_t i = 0; i < NSAMPLES; i++) {
		const struct sample *s = &samples[i];
		struct fp_result r;
		if (identify(t, s->where, s->text, &r) != 1)
			fail_msg("sample %zu (%s) not recognised: %s", i, s->product, s->text);
		if (strcmp(r.product, s->product) || strcmp(r.version, s->version) ||
		    strcmp(r.os, s->os) || r.source != s->where)
			fail_msg("sample %zu: got %s/%s/%s/%s, want %s/%s/%s/%s", i, r.product,
			         r.version, r.os, fp_source_names[r.source], s->product, s->version,
			         s->os, fp_source_names[s->where]);
		if (r.line > 0 && r.line <= FP_RULES_MAX && !decided[r.line]++)
			rules++;
	}
	assert_int_equal(rules, fp_count(t)); /* no rule without a sample */
	assert_int_equal(fp_count(t), 61);
	assert_int_equal(fp_products(t), 48);
	assert_int_equal(NSAMPLES, 72);
}

static void unknown_and_order(void **st)
{
	(void)st;
	struct fptable *t = table();
	struct fp_result r;
	assert_int_equal(identify(t, FP_BANNER, "mx.example.org ESMTP", &r), 0);
	assert_string_equal(r.product, "");
	/* the banner decides before a later rule's error text */
	const char *err = "relay not permitted";
	struct fp_texts in = {.banner = "mx ESMTP Postfix", .errors = &err, .nerrors = 1};
	assert_int_equal(fp_identify(t, &in, &r), 1);
	assert_string_equal(r.product, "postfix");
	assert_int_equal(r.source, FP_BANNER);
	in.banner = "mx ESMTP";
	assert_int_equal(fp_identify(t, &in, &r), 1);
	assert_string_equal(r.product, "exim");
	assert_int_equal(r.source, FP_ERROR);
	/* captured text is printable ASCII only */
	assert_int_equal(identify(t, FP_BANNER, "mx ESMTP Postfix (Debian\x1b[2J\x01)", &r), 1);
	assert_string_equal(r.os, "Debian[2J");
}

static void shipped_file_is_the_default(void **st)
{
	(void)st;
	static char text[65536];
	char err[400];
	FILE *f = fopen("conf/fingerprints.conf", "r"); /* make test-unit runs from the top */
	assert_non_null(f);
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	assert_string_equal(text, fingerprints_default_text);
	struct fptable *t = fp_parse(text, "conf/fingerprints.conf", err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(fp_count(t), fp_count(table()));
	fp_free(t);
}

static void expect_err(const char *text, const char *want)
{
	char err[400];
	assert_null(fp_parse(text, "fp.conf", err, sizeof(err)));
	assert_string_equal(err, want);
}

static void parse_errors(void **st)
{
	(void)st;
	expect_err("# c\n\nPostfix banner \"x\"\n",
	           "fp.conf:3: expected a product name (a-z, 0-9, '-', at most 31)");
	expect_err("postfix\n", "fp.conf:1: expected banner, ehlo or error after the product");
	expect_err("postfix helo \"x\"\n", "fp.conf:1: 'helo': expected banner, ehlo or error");
	expect_err("postfix banner\n", "fp.conf:1: expected a \"quoted\" pattern");
	expect_err("a banner \"x\"\npostfix banner \"(x\"\n",
	           "fp.conf:2: pattern: missing closing parenthesis at offset 2");
	expect_err("postfix banner \"(?<ver>x)\"\n",
	           "fp.conf:1: pattern: the only group names are version and os");
	expect_err("postfix banner \"x\" vendor=y\n",
	           "fp.conf:1: expected os=TEXT (printable ASCII, at most 47)");
	/* found by fuzz_fingerprint: a fixed OS is shown as it is, so it must be printable */
	expect_err("postfix banner \"x\" os=L\xff\n",
	           "fp.conf:1: expected os=TEXT (printable ASCII, at most 47)");
	expect_err("postfix banner \"x\n", "fp.conf:1: expected a \"quoted\" pattern");
	char err[400];
	struct fptable *t = fp_parse("# nothing\n", "fp.conf", err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(fp_count(t), 0);
	fp_free(t);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void hostile_texts(void **st)
{
	(void)st;
	char err[400];
	/* a pattern built to backtrack: the match limit stops it, the rule says nothing */
	struct fptable *t =
	    fp_parse("bad banner \"^(a+)+$\"\ngood banner \"a\"\n", "x", err, sizeof(err));
	assert_non_null(t);
	static char big[1 << 16];
	memset(big, 'a', 40);
	big[40] = '!';
	struct fp_result r;
	double t0 = now();
	assert_int_equal(identify(t, FP_BANNER, big, &r), 1);
	assert_string_equal(r.product, "good");
	fp_free(t);
	/* long, binary and near-miss texts against the shipped rules */
	memset(big, '*', sizeof(big) - 1);
	assert_int_equal(identify(table(), FP_BANNER, big, &r), 0); /* past FP_TEXT_MAX */
	for (size_t i = 0; i < sizeof(big) - 1; i++)
		big[i] = (char)(1 + (i * 131) % 255);
	identify(table(), FP_BANNER, big, &r);
	for (size_t i = 0; i + 20 < sizeof(big); i += 20)
		memcpy(big + i, "ESMTP Postfix (((((", 20);
	identify(table(), FP_BANNER, big, &r);
	assert_true(now() - t0 < 2.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_sample),
	    cmocka_unit_test(unknown_and_order),
	    cmocka_unit_test(shipped_file_is_the_default),
	    cmocka_unit_test(parse_errors),
	    cmocka_unit_test(hostile_texts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
