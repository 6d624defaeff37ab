"""`flask users ...` and `flask demo ...`: accounts, demo data and the all-in-one demo."""

from __future__ import annotations

import time
from datetime import date

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from .models import User, db
from .seed import seed

users_cli = AppGroup("users", help="Back-office user accounts.")
demo_cli = AppGroup("demo", help="Demo data and the all-in-one demo.")


@users_cli.command("create")
@click.argument("name")
@click.password_option(help="The new user's password (asked for when not given).")
def create_user(name: str, password: str) -> None:
    """Create a user who can sign in to the back office."""
    if db.session.scalar(sa.select(User).filter_by(username=name)):
        raise click.ClickException(f"A user named {name!r} already exists.")
    user = User(username=name)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"User {name!r} created.")


@demo_cli.command("seed")
@click.option("--customers", default=200, show_default=True, help="How many customers.")
@click.option("--seed", "seed_value", default=1, show_default=True, help="Random seed.")
@click.option(
    "--today",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="The date the data ends on (default: today).",
)
def seed_command(customers: int, seed_value: int, today: object) -> None:
    """Fill an empty CRM with deterministic, realistic demo data."""
    started = time.monotonic()
    day = today.date() if today is not None else date.today()  # type: ignore[attr-defined]
    try:
        counts = seed(customers, seed_value, day)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"Seeded {counts.customers} customers, {counts.sales} sales, {counts.receipts} receipts, "
        f"{counts.adjustments} adjustments, {counts.products} products, {counts.segments} "
        f"market segments in {time.monotonic() - started:.1f}s."
    )


@demo_cli.command("run")
@click.option("--port", default=5000, show_default=True)
@click.option("--emulator-port", default=8765, show_default=True)
def run_command(port: int, emulator_port: int) -> None:
    """Migrate, seed once, then run the admin, an RQ worker, Redis and the QBO emulator."""
    from .demo import run_demo

    run_demo(port=port, emulator_port=emulator_port)
