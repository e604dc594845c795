"""A small web application for the supervisor's tests: answers on a Unix socket or a
port, prints its arguments and working directory, or fails like a real app would."""

import argparse
import http.server
import os
import socketserver
import sys


class Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # http.server names it
        body = f"{self.path} {os.getcwd()} {os.environ.get('APP_COLOUR', '')}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class UnixServer(socketserver.UnixStreamServer):
    def get_request(self):
        request, _ = super().get_request()
        return request, ("local", 0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--socket")
    parser.add_argument("--port", type=int)
    parser.add_argument("--fail", action="store_true")
    args, rest = parser.parse_known_args()
    print(
        f"fake app starting with {rest}, runtime directory {os.environ.get('XDG_RUNTIME_DIR')}, "
        f"temporary directory {os.environ.get('TMPDIR')}",
        flush=True,
    )
    if args.fail:
        print("Traceback (most recent call last):\nValueError: --logdir must name a directory", file=sys.stderr)
        sys.exit(3)
    server = (
        UnixServer(args.socket, Answer) if args.socket else http.server.HTTPServer(("127.0.0.1", args.port), Answer)
    )
    server.serve_forever()


if __name__ == "__main__":
    main()
