"""The targets' part of the dashboard and of the public figures: rendered once per data version and content of the
programme's rules file (the same for every reader of the staff or the public version)."""

from __future__ import annotations

from datetime import date

from flask import current_app, render_template
from markupsafe import Markup

from programme.core.i18n import current_language
from programme.core.kept import Kept
from programme.dashboard.cache import figures_at
from programme.dashboard.targets import read_rules, rules_path, target_results

_sections: Kept[str] = Kept(12)  # per language too


def rules_key() -> str:
    """What changes when the programme's rules file changes (its path and content): part of a kept page's key."""
    found = read_rules(rules_path(current_app.config))
    return f"{found.path}:{found.digest}"


def targets_html(version: str, *, today: date, zone: str, public: bool) -> Markup:
    """The targets section, or nothing when no programme rules file is there."""
    found = read_rules(rules_path(current_app.config))
    if not found.present:
        return Markup("")

    def render() -> str:
        report = None
        if found.rules is not None:
            report = target_results(found.rules, figures_at(version, today=today, timezone=zone), zone=zone)
        return render_template("dashboard/_targets.html", found=found, report=report, public=public)

    return Markup(_sections.get((version, zone, public, found.path, found.digest, current_language()), render))
