"""The ``madoguchi`` command. Each package adds its commands through ``register(app)``."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="madoguchi",
    help="madoguchi（窓口）: 自治体向けFAQチャットボットの管理コマンド",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="データベースの管理", no_args_is_help=True)
app.add_typer(db_app, name="db")

# Modules that contribute commands; each has ``register(app: typer.Typer) -> None``.
COMMAND_MODULES = ("qa_data.cli_io", "nlu.cli", "bot.cli", "admin_ui.cli", "reports.cli")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """データベースを最新のスキーマに更新します。"""
    from qa_data.db import database_url, upgrade

    upgrade()
    typer.echo(f"データベースを更新しました: {_redact(database_url())}")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
            continue
        module.register(app)


def _missing_schema(error: Exception) -> bool:
    # SQLite says "no such table"; PostgreSQL raises UndefinedTable (SQLSTATE 42P01).
    orig = getattr(error, "orig", None)
    return "no such table" in str(orig) or getattr(orig, "sqlstate", None) == "42P01"


def main() -> None:
    from sqlalchemy.exc import DBAPIError

    from qa_data.db import database_url

    _register_all()
    try:
        app()
    except DBAPIError as error:
        url = _redact(database_url())
        if _missing_schema(error):
            message = (
                f"データベースのテーブルがありません（{url}）。"
                "先に `madoguchi db upgrade` を実行してください。"
            )
        else:
            message = f"データベースに接続できません（{url}）: {error.orig}"
        typer.echo(f"エラー: {message}", err=True)
        raise SystemExit(1) from None
