"""Console: the messages the local mail catcher kept (``yuqing-dev mail-catcher``), for
demos and trials without a mail server. Read only; the text is shown escaped."""

from __future__ import annotations

import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from pathlib import Path
from typing import Any, cast

from flask import Blueprint, render_template

from api.auth import require
from api.context import parts
from api.errors import ApiError

bp = Blueprint("console_mail", __name__)
ENGLISH: dict[str, str] = {
    "邮件": "Mail",
    "本地邮件捕获": "Local mail catcher",
    "主题": "Subject",
    "收件人": "To",
    "发件人": "From",
    "日期": "Date",
    "目录 %(folder)s 不存在。": "The folder %(folder)s does not exist.",
    "启动 yuqing-dev mail-catcher 后，发往它的邮件会保存在这里并在此列出。": (
        "Start yuqing-dev mail-catcher: the messages sent to it are kept there and listed here."
    ),
    "还没有邮件": "No messages yet",
    "纯文本正文": "Plain text",
    "没有纯文本部分": "No plain text part",
    "返回邮件列表": "Back to the messages",
    "仅显示最新 %(n)s 封": "only the newest %(n)s shown",
}
MAX_LISTED = 200
_NAME = re.compile(r"^[\w.-]+\.eml$")


def folder() -> Path:
    """Where ``yuqing-dev mail-catcher`` keeps messages by default."""
    return parts().mail_dir


def _headers(message: Any) -> dict[str, str]:
    return {k: str(message.get(k, "")) for k in ("subject", "to", "from", "date")}


@bp.get("/mail")
@require("operator")
def mail_list() -> str:
    where = folder()
    if not where.is_dir():
        return render_template("mail/index.html", folder=where, exists=False, messages=[])
    files = sorted(where.glob("*.eml"), reverse=True)  # names start with a UTC timestamp
    parser = BytesHeaderParser(policy=policy.default)
    messages = []
    for path in files[:MAX_LISTED]:
        with path.open("rb") as f:
            messages.append({"name": path.name, **_headers(parser.parse(f))})
    return render_template(
        "mail/index.html", folder=where, exists=True, messages=messages, total=len(files)
    )


@bp.get("/mail/<name>")
@require("operator")
def mail_message(name: str) -> str:
    path = folder() / name
    if not _NAME.match(name) or not path.is_file():
        raise ApiError(404, f"no message {name}")
    with path.open("rb") as f:
        message = cast(EmailMessage, BytesParser(policy=policy.default).parse(f))
    body = message.get_body(preferencelist=("plain",))
    text = str(body.get_content()) if body is not None else None
    return render_template("mail/message.html", name=name, headers=_headers(message), text=text)
