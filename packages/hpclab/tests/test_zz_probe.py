import traceback
import tornado.web
from test_apps_handlers import server, supervisor, own_port, nothing_left_running  # noqa
def test_probe(server, own_port, monkeypatch):
    seen = []
    for name in ("set_header", "add_header"):
        orig = getattr(tornado.web.RequestHandler, name)
        def spy(self, k, v, _orig=orig, _name=name):
            if k in ("Location", "Server"):
                seen.append((_name, k, v, "".join(traceback.format_stack(limit=4)[:-1])))
            return _orig(self, k, v)
        monkeypatch.setattr(tornado.web.RequestHandler, name, spy)
    r = server.fetch(f"proxy/{own_port}/redirect")
    print("PROBE", r.status, r.headers["Location"])
    for s in seen: print(s[0], s[1], s[2]); print(s[3])
