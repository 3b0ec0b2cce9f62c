"""The Files view's backend: a FastAPI app the plugin mounts in Airflow's api-server at
``/bankgate`` (``AirflowPlugin.fastapi_apps``), and the page itself (``files.html``, plain HTML
and JS: no build step), which the Airflow UI shows as its "Files" view (``external_views``).

Authorisation is Airflow's: plugin routes are not protected by the api-server, so every data
route depends on Airflow's own ``get_user`` (the JWT from the ``Authorization`` header or the
UI's ``_token`` cookie; none or an invalid one: 401) and asks the configured auth manager:

- a bank's files and journeys: read access to the runs of its pull DAG ``bank_pull__<bank>``
  (whoever may see a bank's pulls may see what became of their files);
- reprocessing: the right to trigger ``bank_reprocess`` (403 otherwise).

The data comes through ``files_api`` only (two functions), so the ledger behind it can change.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from bankgate.plugins.bankgate_airflow import files_api

PREFIX = "/bankgate"
REPROCESS_DAG = "bank_reprocess"
PAGE = Path(__file__).with_name("files.html")


async def _user(
    request: Request, bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(HTTPBearer(auto_error=False))]
) -> Any:
    """Airflow's own ``get_user`` (401 without a valid token), imported when a request comes:
    every Airflow component loads the plugin, only the api-server serves it."""
    from airflow.api_fastapi.core_api.security import get_user

    return await get_user(request, None, bearer)


User = Annotated[Any, Depends(_user)]


def _may(user: Any, dag_id: str, method: str) -> bool:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails

    return get_auth_manager().is_authorized_dag(
        method=method,  # type: ignore[arg-type]
        access_entity=DagAccessEntity.RUN,
        details=DagDetails(id=dag_id),
        user=user,
    )


def _require_bank(user: Any, owner: str) -> None:
    if not _may(user, f"bank_pull__{owner}", "GET"):
        raise HTTPException(status_code=403, detail=f"you may not see the runs of bank_pull__{owner}")


class Reprocess(BaseModel):
    urls: list[str] = Field(min_length=1, max_length=1000)


app = FastAPI(title="bankgate files", description="Every file's story, and reprocessing (bankgate).")


@app.get("/files", response_class=HTMLResponse, include_in_schema=False)
def page() -> str:
    """The page holds no data (it fetches it from the routes below, as the signed-in user)."""
    return PAGE.read_text()


@app.get("/api/owners")
def owners(user: User) -> list[dict[str, str]]:
    """The banks whose files this user may see."""
    return [
        {"name": name, "timezone": bank.timezone}
        for name, bank in sorted(files_api.banks().items())
        if _may(user, f"bank_pull__{name}", "GET")
    ]


@app.get("/api/files")
def files(
    user: User,
    owner: str,
    day: date,
    state: Annotated[str | None, Query()] = None,
    q: Annotated[str | None, Query(description="part of the file name")] = None,
) -> list[dict[str, Any]]:
    """A bank's files of one bank-local day, optionally in one state or matching a name."""
    _require_bank(user, owner)
    try:
        rows = files_api.list_day(owner, day, state or None)
    except LookupError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    needle = (q or "").strip().lower()
    return [r for r in rows if needle in r["name"].lower()] if needle else rows


@app.get("/api/journey")
def journey(user: User, url: str) -> dict[str, Any]:
    """One file's journey (see ``files_api.journey``)."""
    try:
        story = files_api.journey(url)
    except LookupError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    if story["owner"]:
        _require_bank(user, story["owner"])
    elif not _may(user, REPROCESS_DAG, "GET"):
        raise HTTPException(status_code=403, detail="you may not see files of no configured bank")
    return story


@app.post("/api/reprocess")
def reprocess(user: User, body: Reprocess) -> dict[str, Any]:
    """Trigger ``bank_reprocess`` with the selected files (unpausing it, as the UI's trigger
    form does by default: "Reprocess" means now)."""
    if not _may(user, REPROCESS_DAG, "POST"):
        raise HTTPException(status_code=403, detail=f"you may not trigger {REPROCESS_DAG}")
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from airflow.utils.types import DagRunTriggeredByType

    urls = list(dict.fromkeys(u.strip() for u in body.urls if u.strip()))
    with create_session() as session:
        model = DagModel.get_current(REPROCESS_DAG, session=session)
        if model is None:
            raise HTTPException(status_code=503, detail=f"{REPROCESS_DAG} is not loaded yet")
        model.is_paused = False
    run = trigger_dag(
        REPROCESS_DAG,
        triggered_by=DagRunTriggeredByType.REST_API,
        triggering_user_name=user.get_name(),
        conf={"urls": urls},
    )
    if run is None:
        raise HTTPException(status_code=500, detail=f"{REPROCESS_DAG} was not triggered")
    return {"dag_id": REPROCESS_DAG, "run_id": run.run_id, "urls": urls}


#: What the plugin registers: the app, and the page as a top-level "Files" view of the UI.
FASTAPI_APP = {"app": app, "url_prefix": PREFIX, "name": "bankgate files"}
EXTERNAL_VIEW = {
    "name": "Files",
    "href": f"{PREFIX}/files",
    "url_route": "bankgate-files",
    "destination": "nav",
    "nav_top_level": True,
}
