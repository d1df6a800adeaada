"""HTML pages people look at, rendered from Jinja2 templates that share one layout and style.

The reference destination's contact pages, the Segment simulator's delivery view and the run
report all extend `layout.html.j2`, so they look alike and each is one self-contained file: the
style and scripts are inline, nothing is fetched from another host.
"""

from __future__ import annotations

from functools import cache

from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape

__all__ = ["page_environment"]


@cache
def page_environment(*packages: str) -> Environment:
    """A Jinja2 environment over the shared layout and the templates of `packages` (dotted
    names whose `templates/` folder holds `.html.j2` files), autoescaping everything."""
    loaders = [PackageLoader(package, "templates") for package in packages]
    loaders.append(PackageLoader("reference_impl", "templates"))
    return Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(["html.j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
