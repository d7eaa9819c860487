"""A slow SMTP server for the memory benchmark: greets at once, then answers every command
after DELAY seconds, so every session stays in progress. Refuses relaying (RCPT: 550).
Bounded: exits after LIFETIME seconds. Usage: slowsmtp.py HOST PORT DELAY LIFETIME"""
import asyncio
import sys

REPLIES = {b"EHLO": b"250-slow.lab\r\n250 8BITMIME\r\n", b"HELO": b"250 slow.lab\r\n",
           b"MAIL": b"250 2.1.0 Ok\r\n", b"RCPT": b"550 5.7.1 Relay access denied\r\n",
           b"RSET": b"250 2.0.0 Ok\r\n", b"NOOP": b"250 2.0.0 Ok\r\n", b"QUIT": b"221 2.0.0 Bye\r\n"}


async def session(reader, writer, delay):
    try:
        writer.write(b"220 slow.lab ESMTP\r\n")
        while True:
            line = await reader.readline()
            if not line:
                break
            await asyncio.sleep(delay)
            writer.write(REPLIES.get(line[:4].upper(), b"502 5.5.2 Error\r\n"))
            await writer.drain()
            if line[:4].upper() == b"QUIT":
                break
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def main(host, port, delay, lifetime):
    srv = await asyncio.start_server(lambda r, w: session(r, w, delay), host, port, backlog=4096)
    async with srv:
        await asyncio.sleep(lifetime)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])))
