"""Identify calls shaped as Segment delivers them from its client and server libraries.

The common fields (`messageId`, `anonymousId`/`userId`, `context`, `integrations` and the four
times) follow Segment's spec; each library adds its own `context.library` and id style.
"""

from __future__ import annotations

from typing import Any

from scenarios.model import Request
from scenarios.sampler import Sampler
from scenarios.variant import Variant

__all__ = ["VARIANTS"]

_AJS_VERSIONS = ("npm:next-1.70.0", "next-1.72.1", "npm:next-1.66.0")
_PYTHON_VERSIONS = ("2.3.2", "2.3.3", "2.2.3")
_NODE_VERSIONS = ("2.1.2", "2.2.0", "1.3.0")
_IOS_MODELS = ("iPhone15,2", "iPhone14,5", "iPad13,4")
_ANDROID_MODELS = ("Pixel 8", "SM-S911B", "moto g(60)")


def _browser(sampler: Sampler, *, email_in_context: bool, user_id: bool) -> dict[str, Any]:
    person = sampler.person()
    moment = sampler.moment()
    rng = sampler.rng
    traits = sampler.traits(person, email=not email_in_context)
    context: dict[str, Any] = {
        "ip": sampler.ip(),
        "library": {"name": "analytics.js", "version": sampler.pick(_AJS_VERSIONS)},
        "locale": sampler.locale(),
        "page": sampler.page(),
        "timezone": sampler.timezone(),
        "userAgent": sampler.pick(sampler.pools.user_agents),
    }
    if email_in_context:
        context["traits"] = sampler.traits(person, extra=rng.randint(1, 3))
    payload: dict[str, Any] = {
        "anonymousId": sampler.uuid4(),
        "channel": "client",
        "context": context,
        "integrations": {},
        "messageId": f"ajs-next-{moment}-{sampler.uuid4()}",
        **sampler.segment_times(moment),
        "traits": traits,
        "type": "identify",
    }
    if user_id:
        payload["userId"] = sampler.user_id()
    payload["version"] = 2
    return payload


def analytics_js(sampler: Sampler) -> Request:
    return Request(_browser(sampler, email_in_context=False, user_id=True))


def analytics_js_anonymous(sampler: Sampler) -> Request:
    return Request(_browser(sampler, email_in_context=False, user_id=False))


def context_traits_email(sampler: Sampler) -> Request:
    return Request(_browser(sampler, email_in_context=True, user_id=True))


def analytics_python(sampler: Sampler) -> Request:
    person = sampler.person()
    moment = sampler.moment()
    stamp = sampler.iso(moment, style="python")
    times = sampler.segment_times(moment, skew=False)
    payload: dict[str, Any] = {
        "anonymousId": None,
        "context": {
            "library": {"name": "analytics-python", "version": sampler.pick(_PYTHON_VERSIONS)}
        },
        "integrations": {},
        "messageId": sampler.uuid4(),
        "originalTimestamp": stamp,
        "receivedAt": times["receivedAt"],
        "sentAt": times["sentAt"],
        "timestamp": stamp,
        "traits": sampler.traits(person),
        "type": "identify",
        "userId": sampler.user_id(),
    }
    return Request(payload)


def analytics_node(sampler: Sampler) -> Request:
    person = sampler.person()
    moment = sampler.moment()
    payload: dict[str, Any] = {
        "_metadata": {"jsRuntime": "node", "nodeVersion": "20.11.1"},
        "context": {
            "library": {"name": "@segment/analytics-node", "version": sampler.pick(_NODE_VERSIONS)}
        },
        "integrations": {},
        "messageId": f"node-next-{moment}-{sampler.uuid4()}",
        **sampler.segment_times(moment, skew=False),
        "traits": sampler.traits(person),
        "type": "identify",
        "userId": sampler.user_id(),
    }
    return Request(payload)


def _mobile(sampler: Sampler, *, platform: str) -> Request:
    person = sampler.person()
    moment = sampler.moment()
    rng = sampler.rng
    ios = platform == "ios"
    traits = sampler.traits(person)
    payload: dict[str, Any] = {
        "anonymousId": sampler.uuid4().upper() if ios else sampler.uuid4(),
        "channel": "mobile",
        "context": {
            "app": {
                "build": str(rng.randint(100, 999)),
                "name": "Example",
                "namespace": "com.example.app",
                "version": f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}",
            },
            "device": {
                "id": sampler.uuid4().upper() if ios else sampler.hex_id(16),
                "manufacturer": "Apple" if ios else "Google",
                "model": sampler.pick(_IOS_MODELS if ios else _ANDROID_MODELS),
                "type": platform,
            },
            "library": {
                "name": "analytics-swift" if ios else "analytics-kotlin",
                "version": "1.5.11" if ios else "1.16.0",
            },
            "locale": sampler.locale(),
            "network": {"cellular": rng.random() < 0.3, "wifi": rng.random() < 0.7},
            "os": {"name": "iOS" if ios else "Android", "version": str(rng.randint(13, 18))},
            "screen": {"height": 844, "width": 390} if ios else {"height": 2400, "width": 1080},
            "timezone": sampler.timezone(),
            "traits": dict(traits),
        },
        "integrations": {},
        "messageId": sampler.uuid4().upper() if ios else sampler.uuid4(),
        **sampler.segment_times(moment),
        "traits": traits,
        "type": "identify",
        "userId": sampler.user_id(),
    }
    return Request(payload)


def analytics_ios(sampler: Sampler) -> Request:
    return _mobile(sampler, platform="ios")


def analytics_android(sampler: Sampler) -> Request:
    return _mobile(sampler, platform="android")


VARIANTS: tuple[Variant, ...] = (
    Variant(
        "segment/analytics-js",
        "analytics.js identify: traits.email, context.page.url as description, ajs messageId",
        analytics_js,
        weight=4,
    ),
    Variant(
        "segment/analytics-js-anonymous",
        "analytics.js identify with traits but no userId (anonymousId only)",
        analytics_js_anonymous,
    ),
    Variant(
        "segment/context-traits-email",
        "Email only in context.traits (client-cached traits); context.page.url describes it",
        context_traits_email,
    ),
    Variant(
        "segment/analytics-python",
        "analytics-python identify: uuid messageId, +00:00 timestamps in microseconds, no url",
        analytics_python,
        weight=2,
    ),
    Variant(
        "segment/analytics-node",
        "@segment/analytics-node identify: node-next messageId, _metadata, no url",
        analytics_node,
        weight=2,
    ),
    Variant(
        "segment/analytics-ios",
        "analytics-swift identify: app, device, os, screen and network context",
        analytics_ios,
    ),
    Variant(
        "segment/analytics-android",
        "analytics-kotlin identify: app, device, os, screen and network context",
        analytics_android,
    ),
)
