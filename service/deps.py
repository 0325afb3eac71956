"""FastAPI dependencies shared by the routers."""

from __future__ import annotations

from fastapi import Request

from service.audit import AuditLog
from service.db import Database
from service.policy import Policy
from service.settings import Settings


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_policy(request: Request) -> Policy:
    policy: Policy = request.app.state.policy
    return policy


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_audit(request: Request) -> AuditLog:
    audit: AuditLog = request.app.state.audit
    return audit
