"""``madoguchi run`` and ``madoguchi train`` (heavy imports stay inside the commands)."""

from __future__ import annotations

import typer


def run() -> None:
    """DBの更新・デモの読み込み・学習（必要な場合）のあと、すべてのサービスを起動します。"""
    from bot.supervisor import run as run_all

    raise typer.Exit(run_all())


def train_command(
    force: bool = typer.Option(True, "--force/--if-changed", help="変更がなくても学習し直します"),
) -> None:
    """Rasa のモデルを学習します（make train）。"""
    from bot.training import REPO_ROOT, TrainingError, train

    try:
        model = train(force=force)
    except TrainingError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    shown = model.relative_to(REPO_ROOT) if model.is_relative_to(REPO_ROOT) else model
    typer.echo(f"モデルを保存しました: {shown}")


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("train")(train_command)
