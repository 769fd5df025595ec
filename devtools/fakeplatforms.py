"""Local stand-ins for the chat and SMS platforms, on 127.0.0.1, for tests, the benchmark
and trials (``yuqing-dev fake-platforms``): 企业微信 group robots, 钉钉 custom robots,
飞书 custom bots, 阿里云短信 ``SendSms``, a generic SMS gateway and webhook receivers.

Each checks a request the way its platform documents it, independently of yuqing's
senders: DingTalk's and Feishu's signatures and keywords, Aliyun's RPC signature (with
its timestamp and nonce rules), the webhook's ``X-Yuqing-Signature`` and replay window.
Each answers with the platform's own shapes: success, invalid signature, keyword
missing, rate limited (counted as the platform counts: 20 a minute per WeCom or DingTalk
robot, 5 a second and 100 a minute per Feishu bot, 1 a minute and 5 an hour per phone
number), unknown robot. Only accepted messages are recorded. The server can be stopped
and started again on its port, and can hold a chosen request unanswered (then refuse
it) while a test kills the sender.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

HOUR = 3600.0
Answer = tuple[int, dict[str, Any]]


@dataclass
class Robot:
    """One robot, bot, webhook receiver or SMS account the fake knows."""

    secret: str = ""  # signing secret (DingTalk, Feishu, webhook, Aliyun), API key (gateway)
    keywords: list[str] = field(default_factory=list)


@dataclass
class Received:
    """One accepted message."""

    platform: str  # wecom, dingtalk, feishu, webhook, sms, aliyun
    robot: str  # the key, token, hook name, or phone number
    body: Any  # the JSON (or form) the platform took
    headers: dict[str, str]
    time: float  # time.time() when accepted

    @property
    def key(self) -> str:
        """The yuqing delivery this came from, where the message says (webhooks)."""
        return str(self.headers.get("x-yuqing-delivery", ""))


class FakePlatforms:
    """All fakes behind one HTTP server. ``clock`` counts the platforms' rate limits
    (seconds, default the wall clock; tests pass their manual clock's); signatures are
    always checked against the wall clock, as the platforms do."""

    def __init__(self, port: int = 0, clock: Callable[[], float] = time.time) -> None:
        self.port = port
        self.clock = clock
        self.wecom: dict[str, Robot] = {}
        self.dingtalk: dict[str, Robot] = {}
        self.feishu: dict[str, Robot] = {}
        self.webhooks: dict[str, Robot] = {}
        self.gateway: dict[str, Robot] = {}  # API key -> account
        self.aliyun: dict[str, Robot] = {}  # AccessKeyId -> account (secret)
        self.aliyun_signs = {"舆情监测"}
        self.aliyun_templates = {"SMS_460725001": ("severity", "title", "count", "code")}
        self.received: list[Received] = []
        self.refused: list[tuple[str, dict[str, Any]]] = []  # (platform, answer)
        self.requests = 0
        self.hold: Callable[[int], bool] | None = None  # request number -> hold it?
        self.release = threading.Event()
        self.lock = threading.Lock()
        self._sent: dict[str, deque[float]] = {}
        self._blocked: dict[str, float] = {}
        self._nonces: set[str] = set()
        self.enforce_limits = True  # False: accept any rate (a benchmark of the pipeline)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> FakePlatforms:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _Handler)
        server.daemon_threads = True
        server.fakes = self  # type: ignore[attr-defined]
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received)} of {count} messages arrived")
            time.sleep(0.02)
        return list(self.received)

    # -- registering robots ------------------------------------------------------------

    def add_wecom(self, key: str) -> str:
        self.wecom[key] = Robot()
        return f"{self.url}/cgi-bin/webhook/send?key={key}"

    def add_dingtalk(self, token: str, secret: str = "", keywords: list[str] | None = None) -> str:
        self.dingtalk[token] = Robot(secret, keywords or [])
        return f"{self.url}/robot/send?access_token={token}"

    def add_feishu(self, token: str, secret: str = "", keywords: list[str] | None = None) -> str:
        self.feishu[token] = Robot(secret, keywords or [])
        return f"{self.url}/open-apis/bot/v2/hook/{token}"

    def add_webhook(self, name: str, secret: str) -> str:
        self.webhooks[name] = Robot(secret)
        return f"{self.url}/hooks/{name}"

    def add_gateway(self, api_key: str) -> str:
        self.gateway[api_key] = Robot(api_key)
        return f"{self.url}/sms/send"

    def add_aliyun(self, access_key_id: str, secret: str) -> str:
        self.aliyun[access_key_id] = Robot(secret)
        return f"{self.url}/"

    # -- what the platforms share --------------------------------------------------------

    def over_limit(self, name: str, limits: list[tuple[int, float]], block: float = 0.0) -> bool:
        """Count one message to ``name``; True if it is over one of ``limits`` (then
        ``name`` stays refused for ``block`` seconds, as DingTalk does)."""
        if not self.enforce_limits:
            return False
        now = self.clock()
        with self.lock:
            if self._blocked.get(name, 0.0) > now:
                return True
            sent = self._sent.setdefault(name, deque())
            for count, seconds in limits:
                if sum(1 for t in sent if t > now - seconds) >= count:
                    if block:
                        self._blocked[name] = now + block
                    return True
            sent.append(now)
            return False

    def accept(self, platform: str, robot: str, body: Any, headers: dict[str, str]) -> None:
        with self.lock:
            self.received.append(Received(platform, robot, body, headers, time.time()))

    def refuse(self, platform: str, status: int, answer: dict[str, Any]) -> Answer:
        with self.lock:
            self.refused.append((platform, answer))
        return status, answer

    # -- 企业微信 group robot -------------------------------------------------------------

    def wecom_send(self, query: dict[str, str], body: Any, headers: dict[str, str]) -> Answer:
        key = query.get("key", "")
        if key not in self.wecom:
            return self.refuse(
                "wecom", 200, {"errcode": 93000, "errmsg": "invalid webhook url, hint: [fake]"}
            )
        if not isinstance(body, dict) or body.get("msgtype") not in ("text", "markdown"):
            return self.refuse("wecom", 200, {"errcode": 40008, "errmsg": "invalid message type"})
        content = body.get(body["msgtype"], {}).get("content", "")
        if not content:
            return self.refuse("wecom", 200, {"errcode": 44004, "errmsg": "empty content"})
        if len(content.encode()) > 4096:
            return self.refuse(
                "wecom",
                200,
                {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"},
            )
        if self.over_limit(f"wecom:{key}", [(20, 60.0)]):
            return self.refuse(
                "wecom", 200, {"errcode": 45009, "errmsg": "api freq out of limit, hint: [fake]"}
            )
        self.accept("wecom", key, body, headers)
        return 200, {"errcode": 0, "errmsg": "ok"}

    # -- 钉钉 custom robot -------------------------------------------------------------

    def dingtalk_send(self, raw_query: str, body: Any, headers: dict[str, str]) -> Answer:
        query = dict(parse_qsl(raw_query, keep_blank_values=True))
        token = query.get("access_token", "")
        robot = self.dingtalk.get(token)
        if robot is None:
            return self.refuse("dingtalk", 200, {"errcode": 300001, "errmsg": "token is not exist"})
        if robot.secret:
            stamp = query.get("timestamp", "")
            if not stamp.isdigit() or abs(time.time() * 1000 - int(stamp)) > HOUR * 1000:
                return self.refuse(
                    "dingtalk", 200, {"errcode": 310000, "errmsg": "invalid timestamp"}
                )
            # As documented: base64 of HMAC-SHA256(secret, timestamp + "\n" + secret),
            # URL-encoded in the query; the server compares it decoded.
            mac = hmac.new(
                robot.secret.encode(), f"{stamp}\n{robot.secret}".encode(), hashlib.sha256
            )
            expected = base64.b64encode(mac.digest()).decode()
            if query.get("sign", "") != expected:
                return self.refuse(
                    "dingtalk",
                    200,
                    {"errcode": 310000, "errmsg": "sign not match, more: [fake]"},
                )
        kind = body.get("msgtype") if isinstance(body, dict) else None
        part = body.get(kind, {}) if kind else {}
        if kind not in ("text", "markdown", "actionCard", "link", "feedCard"):
            return self.refuse("dingtalk", 200, {"errcode": 400105, "errmsg": "不支持的消息类型"})
        said = " ".join(str(part.get(k, "")) for k in ("title", "text", "content"))
        if robot.keywords and not any(k in said for k in robot.keywords):
            return self.refuse(
                "dingtalk",
                200,
                {"errcode": 310000, "errmsg": "keywords not in content, more: [fake]"},
            )
        if kind == "actionCard" and not (part.get("btns") or part.get("singleURL")):
            return self.refuse("dingtalk", 200, {"errcode": 400105, "errmsg": "缺少按钮"})
        if self.over_limit(f"dingtalk:{token}", [(20, 60.0)], block=600.0):
            return self.refuse(
                "dingtalk",
                200,
                {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"},
            )
        self.accept("dingtalk", token, body, headers)
        return 200, {"errcode": 0, "errmsg": "ok"}

    # -- 飞书 custom bot ---------------------------------------------------------------

    def feishu_send(self, token: str, body: Any, headers: dict[str, str]) -> Answer:
        robot = self.feishu.get(token)
        if robot is None:
            return self.refuse(
                "feishu",
                200,
                {
                    "code": 19001,
                    "data": {},
                    "msg": "param invalid: incoming webhook access token invalid",
                },
            )
        if not isinstance(body, dict):
            return self.refuse("feishu", 400, {"code": 9499, "data": {}, "msg": "Bad Request"})
        if robot.secret:
            stamp = str(body.get("timestamp", ""))
            # As documented: base64 of HMAC-SHA256 keyed with timestamp + "\n" + secret,
            # over an empty message.
            key = f"{stamp}\n{robot.secret}".encode()
            expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
            fresh = stamp.isdigit() and abs(time.time() - int(stamp)) <= HOUR
            if not fresh or body.get("sign") != expected:
                return self.refuse(
                    "feishu",
                    200,
                    {
                        "code": 19021,
                        "data": {},
                        "msg": "sign match fail or timestamp is not within one hour "
                        "from current time",
                    },
                )
        said = json.dumps(body.get("card") or body.get("content") or {}, ensure_ascii=False)
        if robot.keywords and not any(k in said for k in robot.keywords):
            return self.refuse(
                "feishu", 200, {"code": 19024, "data": {}, "msg": "Key Words Not Found"}
            )
        if body.get("msg_type") not in ("text", "post", "image", "share_chat", "interactive"):
            return self.refuse("feishu", 200, {"code": 9499, "data": {}, "msg": "Bad Request"})
        if self.over_limit(f"feishu:{token}", [(5, 1.0), (100, 60.0)]):
            return self.refuse(
                "feishu", 200, {"code": 11232, "data": {}, "msg": "frequency limited"}
            )
        self.accept("feishu", token, body, headers)
        return 200, {"code": 0, "data": {}, "msg": "success"}

    # -- a webhook receiver, as docs/channels.md tells one to check ---------------------

    def webhook_receive(self, name: str, raw: bytes, headers: dict[str, str]) -> Answer:
        robot = self.webhooks.get(name)
        if robot is None:
            return self.refuse("webhook", 404, {"error": "no such hook"})
        parts = dict(
            p.split("=", 1) for p in headers.get("x-yuqing-signature", "").split(",") if "=" in p
        )
        stamp = parts.get("t", "")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > 300:
            return self.refuse("webhook", 401, {"error": "timestamp outside the replay window"})
        mac = hmac.new(robot.secret.encode(), stamp.encode() + b"." + raw, hashlib.sha256)
        if not hmac.compare_digest(mac.hexdigest(), parts.get("v1", "")):
            return self.refuse("webhook", 401, {"error": "bad signature"})
        delivery = headers.get("x-yuqing-delivery", "")
        if any(r.key == delivery for r in self.received if r.platform == "webhook"):
            return 200, {"ok": True, "duplicate": True}  # processed once, as documented
        self.accept("webhook", name, json.loads(raw), headers)
        return 200, {"ok": True}

    # -- an SMS gateway ---------------------------------------------------------------------

    def gateway_send(self, body: Any, headers: dict[str, str]) -> Answer:
        key = headers.get("authorization", "").removeprefix("Bearer ")
        if key not in self.gateway:
            return self.refuse("sms", 401, {"code": 401, "msg": "bad api key"})
        phone = str(body.get("phone", "")) if isinstance(body, dict) else ""
        if not (phone.isdigit() and len(phone) == 11 and phone.startswith("1")):
            return self.refuse("sms", 200, {"code": 4001, "msg": "invalid phone"})
        if self.over_limit(f"sms:{phone}", [(1, 60.0), (5, HOUR)]):
            return self.refuse("sms", 429, {"code": 429, "msg": "rate limited"})
        self.accept("sms", phone, body, headers)
        return 200, {"code": 0, "msg": "ok"}

    # -- 阿里云短信 SendSms (RPC, signature V1) ------------------------------------------

    def aliyun_send(self, method: str, params: dict[str, str], headers: dict[str, str]) -> Answer:
        request_id = str(uuid.uuid4()).upper()

        def error(status: int, code: str, message: str) -> Answer:
            return self.refuse(
                "aliyun",
                status,
                {"RequestId": request_id, "Code": code, "Message": message, "HostId": "dysmsapi"},
            )

        account = self.aliyun.get(params.get("AccessKeyId", ""))
        if account is None:
            return error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        given = params.get("Signature", "")
        # As documented: the parameters but Signature, sorted, each name and value
        # percent-encoded (RFC 3986), joined with & and =; the string to sign is
        # METHOD&%2F&<that, encoded again>; HMAC-SHA1 keyed with the secret and "&".
        rest = sorted((k, v) for k, v in params.items() if k != "Signature")
        canonical = "&".join(f"{_pct(k)}={_pct(v)}" for k, v in rest)
        to_sign = f"{method}&{_pct('/')}&{_pct(canonical)}"
        mac = hmac.new(f"{account.secret}&".encode(), to_sign.encode(), hashlib.sha1)
        if base64.b64encode(mac.digest()).decode() != given:
            return error(
                400,
                "SignatureDoesNotMatch",
                f"Specified signature is not matched with our calculation. "
                f"server string to sign is:{to_sign}",
            )
        try:
            stamp = time.mktime(time.strptime(params.get("Timestamp", ""), "%Y-%m-%dT%H:%M:%SZ"))
            stamp -= time.timezone  # strptime read UTC as local time
        except ValueError:
            return error(400, "InvalidTimeStamp.Format", "Specified time stamp is not valid.")
        if abs(time.time() - stamp) > 15 * 60:
            return error(
                400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."
            )
        nonce = params.get("SignatureNonce", "")
        with self.lock:
            used = nonce in self._nonces
            self._nonces.add(nonce)
        if used or not nonce:
            return error(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
        if params.get("Action") != "SendSms" or params.get("Version") != "2017-05-25":
            return error(400, "InvalidAction.NotFound", "Specified api is not found.")
        phone = params.get("PhoneNumbers", "")
        if not (phone.isdigit() and len(phone) == 11 and phone.startswith("1")):
            return error(200, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        if params.get("SignName") not in self.aliyun_signs:
            return error(200, "isv.SMS_SIGNATURE_ILLEGAL", "签名不合法(不存在或被拉黑)")
        variables = self.aliyun_templates.get(params.get("TemplateCode", ""))
        if variables is None:
            return error(200, "isv.SMS_TEMPLATE_ILLEGAL", "模板不合法(不存在或被拉黑)")
        try:
            values = json.loads(params.get("TemplateParam", "{}"))
        except ValueError:
            return error(200, "isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        if any(v not in values for v in variables):
            return error(200, "isv.TEMPLATE_MISSING_PARAMETERS", "模板变量缺少对应参数值")
        if any(len(str(v)) > 35 for v in values.values()):
            return error(200, "isv.PARAM_LENGTH_LIMIT", "参数超出长度限制")
        if self.over_limit(f"aliyun:{phone}", [(1, 60.0)]):
            return error(200, "isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1")
        if self.over_limit(f"aliyun-hour:{phone}", [(5, HOUR)]):
            return error(200, "isv.BUSINESS_LIMIT_CONTROL", "触发小时级流控Permits:5")
        self.accept("aliyun", phone, params, headers)
        return 200, {
            "RequestId": request_id,
            "Code": "OK",
            "Message": "OK",
            "BizId": request_id[:20],
        }


def demo_channels(fakes: FakePlatforms, phone: str = "13800000001") -> list[dict[str, Any]]:
    """One channel of each kind at ``fakes``, as ``yuqing channels put`` takes them, with
    the route sending every alert to all of them (the benchmark and trials use these)."""
    ding, feishu, hook = "SECdemo0123456789abcdef", "feishu-demo-secret", "whsec-demo-0123456789"
    ali_id, ali_secret, gateway = "LTAIdemo", "ali-demo-secret", "gw-demo-key"
    return [
        {"id": "demo-wecom", "kind": "wecom", "name": "企业微信值班群",
         "secrets": {"webhook": fakes.add_wecom("demo")}},
        {"id": "demo-ding", "kind": "dingtalk", "name": "钉钉值班群",
         "settings": {"keywords": ["舆情"]},
         "secrets": {"webhook": fakes.add_dingtalk("demo", ding, ["舆情"]), "secret": ding}},
        {"id": "demo-feishu", "kind": "feishu", "name": "飞书值班群",
         "secrets": {"webhook": fakes.add_feishu("demo", feishu), "secret": feishu}},
        {"id": "demo-hook", "kind": "webhook", "name": "指挥平台",
         "settings": {"url": fakes.add_webhook("demo", hook)}, "secrets": {"secret": hook}},
        {"id": "demo-sms", "kind": "sms_gateway", "name": "短信网关", "to": [phone],
         "settings": {"url": fakes.add_gateway(gateway), "ok_field": "code", "ok_value": "0",
                      "headers": {"Authorization": "Bearer {secret}"}},
         "secrets": {"secret": gateway}},
        {"id": "demo-aliyun", "kind": "sms_aliyun", "name": "阿里云短信", "to": [phone],
         "settings": {"access_key_id": ali_id, "sign_name": "舆情监测",
                      "template_code": "SMS_460725001",
                      "endpoint": fakes.add_aliyun(ali_id, ali_secret)},
         "secrets": {"access_key_secret": ali_secret}},
    ]  # fmt: skip


def _pct(text: str) -> str:
    return quote(text, safe="~")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle's algorithm and
        # the client's delayed ACK add 40 ms to every answer on a kept-alive connection.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        fakes: FakePlatforms = self.server.fakes  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        with fakes.lock:
            fakes.requests += 1
            number = fakes.requests
        if fakes.hold is not None and fakes.hold(number):
            # Not accepted: the test decides what happens to the client meanwhile.
            fakes.release.wait()
            self._answer(503, {"error": "held, then refused"})
            return
        parts = urlsplit(self.path)
        try:
            status, answer = self._route(fakes, parts.path, parts.query, raw, headers)
        except Exception as e:  # a malformed request: the platforms answer 400
            status, answer = 400, {"error": repr(e)}
        self._answer(status, answer)

    def _route(
        self, fakes: FakePlatforms, path: str, query: str, raw: bytes, headers: dict[str, str]
    ) -> Answer:
        if path == "/cgi-bin/webhook/send":
            return fakes.wecom_send(dict(parse_qsl(query)), json.loads(raw), headers)
        if path == "/robot/send":
            return fakes.dingtalk_send(query, json.loads(raw), headers)
        if path.startswith("/open-apis/bot/v2/hook/"):
            return fakes.feishu_send(path.rsplit("/", 1)[1], json.loads(raw), headers)
        if path.startswith("/hooks/"):
            return fakes.webhook_receive(path.rsplit("/", 1)[1], raw, headers)
        if path == "/sms/send":
            return fakes.gateway_send(json.loads(raw), headers)
        if path == "/":
            form = dict(parse_qsl(raw.decode(), keep_blank_values=True))
            return fakes.aliyun_send("POST", form | dict(parse_qsl(query)), headers)
        return 404, {"error": f"no such endpoint {unquote(path)}"}

    def _answer(self, status: int, answer: dict[str, Any]) -> None:
        body = json.dumps(answer, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client is gone (a test killed it)
