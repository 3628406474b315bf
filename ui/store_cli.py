"""`shopassist store`: seed the demo store, list a customer's orders, show the human queue."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from assistant.errors import AssistantOperatorError
from ui.settings import Settings

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (the summary on the last line).")]


def _emit(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, default=str))


def _store(settings: Settings) -> Any:
    from assistant.store import Store

    try:
        return Store(settings.store_path)
    except AssistantOperatorError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def require_customer(store: Any, customer: str) -> None:
    """Exit 1 with a clear message when the store has no such customer."""
    if store.customer(customer) is None:
        typer.echo(f"error: no customer {customer!r} (the demo has C001..C010)", err=True)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the `store` commands to the `shopassist` app."""
    store_app = typer.Typer(no_args_is_help=True, help="The demo store: orders and the queue.")
    app.add_typer(store_app, name="store")

    @store_app.command("seed")
    def seed(
        reset: Annotated[bool, typer.Option("--reset", help="Delete everything first.")] = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Seed the demo store (customers C001..C010 over the demo catalog) if it is empty."""
        from assistant.seed import seed_demo
        from retrieval.icecat import load_demo

        settings = Settings()
        store = _store(settings)
        written = seed_demo(store, load_demo(), reset=reset)
        summary = {
            "orders": written,
            "customers": len(store.customers()),
            "path": str(settings.store_path),
        }
        if as_json:
            _emit(summary)
        elif written:
            typer.echo(f"seeded {written} orders for {summary['customers']} customers")
        else:
            typer.echo("the store is already seeded (use --reset to seed it again)")

    @store_app.command("orders")
    def orders(
        customer: Annotated[str, typer.Option(help="The customer, e.g. C001.")],
        as_json: JsonOpt = False,
    ) -> None:
        """List a customer's orders with their ids and statuses."""
        store = _store(Settings())
        require_customer(store, customer)
        found = store.orders(customer)
        rows = [
            {
                "id": o.id,
                "status": o.status,
                "placed": o.placed_at.date().isoformat(),
                "delivered": o.shipment.delivered_at.date().isoformat()
                if o.shipment and o.shipment.delivered_at
                else None,
                "total": str(o.total),
                "items": [ln.title for ln in o.lines],
                "return": o.rma.id if o.rma else None,
            }
            for o in found
        ]
        if as_json:
            _emit({"customer": customer, "orders": rows})
            return
        for r in rows:
            extra = f" delivered {r['delivered']}" if r["delivered"] else ""
            typer.echo(f"{r['id']}  {r['status']:<10} placed {r['placed']}{extra}  ${r['total']}")

    @store_app.command("queue")
    def queue(
        every: Annotated[bool, typer.Option("--all", help="Also assigned entries.")] = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Conversations waiting for a human agent, oldest first."""
        store = _store(Settings())
        entries = store.queue(None if every else "waiting")
        if as_json:
            _emit({"queue": [e.as_dict() for e in entries]})
            return
        if not entries:
            typer.echo("no conversation is waiting for an agent")
        for e in entries:
            typer.echo(
                f"H-{e.id}  {e.status:<8} session {e.session_id}  customer {e.customer_id or '-'}"
                f"  order {e.order_id or '-'}  {e.intent}: {e.reason}"
            )
