"""The review pages: a signed-in person's projects, a project's timeline and metric chains, the review draft.

Server-rendered HTML with inline SVG, no front-end build. ``ROUTES`` joins
the app's routes in ``server.http.app``; importing this package also registers the
``web_sessions`` table on the server's metadata, so that ``db.create_schema``
creates it. docs/web.md describes the pages, the sessions, CSRF and escaping.
"""

from starlette.routing import Route

from server.http.web import handlers, shared
from server.http.web.markup import Markup, escape, render
from server.http.web.sessions import SESSION_LIFETIME, Sessions, web_sessions

ROUTES = [
    Route("/", handlers.page(handlers.projects), methods=["GET"]),
    Route("/sign-in", handlers.page(handlers.sign_in_form), methods=["GET"]),
    Route("/sign-in", handlers.page(handlers.sign_in), methods=["POST"]),
    Route("/sign-out", handlers.page(handlers.sign_out), methods=["POST"]),
    Route("/projects/{project_id}", handlers.page(handlers.project), methods=["GET"]),
    Route("/review", handlers.page(handlers.review), methods=["GET"]),
    Route("/review.md", handlers.page(handlers.review_markdown), methods=["GET"]),
    # Shared links (server/http/web/shared.py): a review draft for a reader without an account.
    Route("/s/{link}", shared.shared_review, methods=["GET"]),
    Route("/s/{link}/projects/{project_id}", shared.shared_project, methods=["GET"]),
]

__all__ = ["ROUTES", "SESSION_LIFETIME", "Markup", "Sessions", "escape", "render", "web_sessions"]
