"""Local demo site (fictional 潼南区 news site, government portal and forum) for tests and demos.

Everything is served on 127.0.0.1 so crawler tests never touch the internet; the
``DemoSite`` object behind each app holds the ground truth and the request log.
"""

from .app import create_app
from .model import BASE_TIME, SHANGHAI, Article, Draft, Post, Thread
from .requestlog import LoggedRequest, RequestLog
from .server import main, serve, start_drip
from .site import DemoSite

__all__ = [
    "BASE_TIME",
    "SHANGHAI",
    "Article",
    "DemoSite",
    "Draft",
    "LoggedRequest",
    "Post",
    "RequestLog",
    "Thread",
    "create_app",
    "main",
    "serve",
    "start_drip",
]
