"""``madoguchi user ...`` (console accounts for IT staff) and ``madoguchi console``."""

from __future__ import annotations

from typing import Annotated

import typer

user_app = typer.Typer(
    help="管理画面のユーザー管理（初回のシステム管理者の作成など）", no_args_is_help=True
)


@user_app.command("add")
def user_add(
    login_id: str = typer.Argument(..., help="ログインID（半角英数字）"),
    name: str = typer.Option(..., "--name", "-n", help="氏名"),
    admin: bool = typer.Option(False, "--admin", help="システム管理者として作成する"),
    role: str = typer.Option(
        "editor", "--role", help="system_admin / department_admin / editor / viewer"
    ),
    department: Annotated[
        list[str] | None, typer.Option("--department", "-d", help="担当部署（複数可）")
    ] = None,
    password: str = typer.Option(
        ...,
        prompt="パスワード",
        hide_input=True,
        confirmation_prompt=True,
        help="10文字以上、英字と数字を含み、ログインIDを含まないもの",
    ),
) -> None:
    """ユーザーを追加します（初回は --admin でシステム管理者を作成してください）。"""
    from qa_data.accounts import AccountError, create_user
    from qa_data.db import session_scope
    from qa_data.models import Role
    from qa_data.permissions import SYSTEM_ACTOR

    try:
        chosen = Role.SYSTEM_ADMIN if admin else Role(role)
    except ValueError:
        typer.echo(f"権限「{role}」は使えません。", err=True)
        raise typer.Exit(2) from None
    try:
        with session_scope() as session:
            create_user(
                session,
                SYSTEM_ACTOR,
                login_id=login_id,
                display_name=name,
                password=password,
                role=chosen,
                department_names=department or [],
                must_change_password=not admin,
            )
    except AccountError as error:
        typer.echo(f"追加できませんでした: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"ユーザー「{login_id}」を追加しました（{chosen.value}）。")


@user_app.command("reset-password")
def user_reset_password(
    login_id: str = typer.Argument(...),
    password: str = typer.Option(
        ..., prompt="新しいパスワード", hide_input=True, confirmation_prompt=True
    ),
) -> None:
    """パスワードを再設定し、ロックを解除します（次回ログイン時に変更を求めます）。"""
    from qa_data.accounts import AccountError, reset_password
    from qa_data.db import session_scope
    from qa_data.permissions import SYSTEM_ACTOR

    try:
        with session_scope() as session:
            reset_password(session, SYSTEM_ACTOR, login_id, password)
    except AccountError as error:
        typer.echo(f"再設定できませんでした: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"「{login_id}」のパスワードを再設定しました。")


@user_app.command("list")
def user_list() -> None:
    """ユーザーの一覧を表示します。"""
    from qa_data.accounts import list_users
    from qa_data.db import session_scope
    from qa_data.permissions import ROLE_LABELS

    with session_scope() as session:
        for user in list_users(session):
            departments = "、".join(d.name for d in user.departments) or "-"
            state = "有効" if user.is_active else "無効"
            typer.echo(
                f"{user.login_id}\t{user.display_name}\t{ROLE_LABELS[user.role]}\t{departments}\t{state}"
            )


def console(
    port: int = typer.Option(None, "--port", help="既定: settings.ports.console (8501)"),
) -> None:
    """職員用の管理画面（Streamlit）を起動します。"""
    import subprocess
    import sys
    from pathlib import Path

    from qa_data.settings import get_settings

    app = Path(__file__).resolve().parent / "app.py"
    port = port or get_settings().ports.console
    raise typer.Exit(
        subprocess.call(
            [
                sys.executable, "-m", "streamlit", "run", str(app),
                "--server.port", str(port), "--server.headless", "true",
                "--browser.gatherUsageStats", "false",
            ]
        )
    )  # fmt: skip


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.command("console")(console)
