"""Messages people read, Chinese first with English available.

Error codes are stable and English (clients switch on them); the titles people read are looked
up here by code, in Simplified Chinese unless the request asks for English
(``Accept-Language: en…``). Bad-input errors also get a sentence naming the field and the rule.
"""

from __future__ import annotations

ZH = "zh"
EN = "en"

TITLES: dict[str, tuple[str, str]] = {
    "input.invalid": ("输入不符合要求", "Invalid input"),
    "catalogue.invalid": ("目录文件不符合要求", "Invalid catalogue"),
    "auth.required": ("请先登录", "Authentication required"),
    "auth.invalid_credentials": ("用户名或密码错误", "Wrong username or password"),
    "auth.invalid_token": ("登录已失效，请重新登录", "Token is missing, unknown or expired"),
    "auth.invalid_api_key": ("API 密钥无效或已吊销", "API key is unknown or revoked"),
    "auth.unknown_user": ("用户不存在", "Unknown user"),
    "auth.locked": ("多次登录失败，账号已临时锁定", "Account locked after repeated failures"),
    "auth.forbidden": ("无权执行此操作", "Not allowed"),
    "case.not_found": ("案件不存在", "Case not found"),
    "attachment.not_found": ("附件不存在", "Attachment not found"),
    "element.not_found": ("治理要素不存在", "Element not found"),
    "region.not_found": ("区域不存在", "Region not found"),
    "route.not_found": ("接口不存在", "No such route"),
    "method.not_allowed": ("不支持该请求方法", "Method not allowed"),
    "case.transition_refused": (
        "当前状态或角色不允许此操作",
        "Action not allowed in this state or role",
    ),
    "case.stale_version": ("案件已被他人修改，请刷新后重试", "The case changed; reload and retry"),
    "storage.conflict": ("与已有数据冲突", "Conflicts with stored data"),
    "apikey.name_taken": ("该名称的 API 密钥已存在", "An API key with this name exists"),
    "org.already_seeded": ("数据目录中已有辖区", "A district is already set up"),
    "service.unavailable": ("系统繁忙，请稍后重试", "Busy; try again"),
    "server.error": (
        "系统内部错误，请凭请求编号联系管理员",
        "Internal error; quote the request id",
    ),
}


def language(accept_language: str | None) -> str:
    """English when the caller's first preference is English; Chinese otherwise."""
    first = (accept_language or "").split(",")[0].strip().lower()
    return EN if first.startswith("en") else ZH


def title(code: str, lang: str, fallback: str) -> str:
    pair = TITLES.get(code)
    if pair is None:
        return fallback
    return pair[1] if lang == EN else pair[0]


def input_detail(field: str, rule: str, lang: str, message: str) -> str:
    """One sentence naming the field and the rule that was broken."""
    if lang == EN:
        return f"{field}: {message} (rule: {rule})"
    return f"字段「{field}」不符合规则「{rule}」：{message}"
