"""Reports and exports 报表与导出, the audit check, process diagrams, and what is in force (plugins,
standards)."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, Parameter

from jiedai_flow import reports
from jiedai_flow.domain.standards import Standards
from jiedai_flow.plugins import PluginInfo
from jiedai_flow.process import diagram
from jiedai_flow.reports.common import require_sql
from jiedai_flow.server.auth import Principal
from jiedai_flow.server.models import ProcessInfo, Report, VerifyResult
from jiedai_flow.server.problems import FOUND, QUERY, RECEPTION, SQL_ONLY, declared
from jiedai_flow.server.schema import LibraryDTO
from jiedai_flow.server.service import Service, id_of

if TYPE_CHECKING:
    from jiedai_flow.domain.records import Reception
    from jiedai_flow.process.engine import Engine

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"  # the response adds "; charset=utf-8" to a text type itself
HTML = "text/html"
TEXT = "text/plain"

ROW_TYPES: dict[str, type[Any]] = {
    "summary": reports.AnnualSummaryRow,
    "disclosure": reports.DisclosureRow,
    "red-flags": reports.RedFlag,
}
TITLES = {"summary": "年度接待汇总", "disclosure": "公务接待费公开", "red-flags": "审计疑点"}


def _xlsx(write: Any) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "out.xlsx"
        write(path)
        return path.read_bytes()


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f"attachment; filename*=UTF-8''{name}"}


@get(
    "/receptions/{ref:str}/list",
    operation_id="exportReceptionList",
    summary="接待清单 the printable reception list (HTML, xlsx, CSV)",
    tags=["reports"],
    sync_to_thread=True,
    responses=declared(RECEPTION, QUERY),
    media_type=HTML,
)
def reception_list(
    ref: FromPath[str],
    service: NamedDependency[Service],
    principal: NamedDependency[Principal],
    format: FromQuery[Literal["html", "xlsx", "csv"]] = "html",
) -> Response[bytes]:
    del principal
    engine = service.engine
    doc = list_of(engine, engine.get(id_of(engine, ref)))
    if format == "xlsx":
        content = _xlsx(lambda p: reports.write_list_xlsx(doc, p))
        return Response(content, media_type=XLSX, headers=_attachment("jiedai-list.xlsx"))
    if format == "csv":
        return Response(reports.render_list_csv(doc).encode(), media_type=CSV)
    html = reports.render_list_html(doc, templates=engine.hooks.jiedai_templates())
    return Response(html.encode(), media_type=HTML)


def list_of(engine: Engine, reception: Reception) -> reports.ListDocument:
    """The 接待清单 of ``reception`` as ``jiedai export`` makes it: everyone who acted by name (from
    its trail), returns labelled by its own process."""
    events, definition = engine.history(reception.id), engine.process_of(reception).definition
    return reports.list_document(reception, events=events, definition=definition)


@get(
    "/reports/{kind:str}",
    operation_id="getReport",
    summary="报表 annual summary, disclosure (三公经费) or red flags; JSON, CSV, xlsx or HTML",
    tags=["reports"],
    sync_to_thread=True,
    responses={
        200: ResponseSpec(
            Report,
            description="`format=json` (the default): the rows; csv, xlsx and html: the same rows as a table",
            generate_examples=False,  # made up at random on every start (see problems._spec)
        ),
        **declared(QUERY, SQL_ONLY),
    },
)
def report(
    kind: FromPath[Literal["summary", "disclosure", "red-flags"]],
    service: NamedDependency[Service],
    principal: NamedDependency[Principal],
    year: int = Parameter(ge=1990, le=2100),
    host_unit: FromQuery[str | None] = None,
    jurisdiction: FromQuery[str | None] = None,
    by_month: FromQuery[bool] = True,
    format: FromQuery[Literal["json", "csv", "xlsx", "html"]] = "json",
) -> Response[Any]:
    del principal
    engine = service.engine
    filters: dict[str, Any] = {"host_unit": host_unit, "jurisdiction": jurisdiction}
    rows: Any
    if kind == "summary":
        rows = reports.annual_summary(engine.store, year, engine=engine, **filters)
    elif kind == "disclosure":
        rows = reports.disclosure(engine.store, year, by_month=by_month, engine=engine, **filters)
    else:
        rows = reports.red_flags(engine.store, year, engine=engine, **filters)
    row_type = ROW_TYPES[kind]
    title = f"{year} 年{TITLES[kind]}"
    if format == "xlsx":
        content = _xlsx(lambda p: reports.write_table_xlsx(rows, p, title=title, row_type=row_type))
        return Response(content, media_type=XLSX, headers=_attachment(f"jiedai-{kind}-{year}.xlsx"))
    if format == "csv":
        return Response(reports.render_table_csv(rows, row_type=row_type).encode(), media_type=CSV)
    if format == "html":
        return Response(reports.render_table_html(rows, title, row_type=row_type).encode(), media_type=HTML)
    from jiedai_flow.domain.loading import dump

    return Response({"report": kind, "year": year, "rows": [dump(r) for r in rows]})


@get(
    "/audit/verify",
    operation_id="verifyAuditChain",
    summary="审计链校验 verify the audit chain",
    return_dto=LibraryDTO[VerifyResult],
    tags=["audit"],
    sync_to_thread=True,
    responses=declared(SQL_ONLY),
)
def audit_verify(service: NamedDependency[Service], principal: NamedDependency[Principal]) -> VerifyResult:
    del principal
    found = require_sql(service.engine.store).verify()
    problem = found.problem
    return VerifyResult(
        found.ok,
        found.checked,
        None if problem is None else str(problem),
        None if problem is None else problem.event_id,
    )


@get(
    "/processes",
    operation_id="listProcesses",
    summary="已加载的流程 process definitions loaded",
    return_dto=LibraryDTO[list[ProcessInfo]],
    tags=["processes"],
    sync_to_thread=True,
    responses=declared(),
)
def processes(service: NamedDependency[Service], principal: NamedDependency[Principal]) -> list[ProcessInfo]:
    del principal
    return [
        ProcessInfo(
            d.key,
            d.name,
            d.version,
            d.initial,
            tuple(s.name for s in d.states),
            tuple(t.name for t in d.triggers),
        )
        for d in service.engine.processes
    ]


def _diagram_text(definition: Any, path: Any, format: str) -> Response[bytes]:
    text = diagram.dot(definition, path) if format == "dot" else diagram.mermaid(definition, path)
    return Response(text.encode(), media_type=TEXT)


@get(
    "/processes/{key:str}/diagram",
    operation_id="getProcessDiagram",
    summary="流程图 a process diagram (Mermaid or Graphviz dot)",
    tags=["processes"],
    sync_to_thread=True,
    responses=declared(FOUND, QUERY),
    media_type=TEXT,
)
def process_diagram(
    key: FromPath[str],
    service: NamedDependency[Service],
    principal: NamedDependency[Principal],
    format: FromQuery[Literal["mermaid", "dot"]] = "mermaid",
) -> Response[bytes]:
    del principal
    processes = service.engine.processes
    found = [d for d in processes if d.key == key or d.name == key]
    if not found:
        loaded = ", ".join(d.key for d in processes)
        raise NotFoundException(f"没有流程 {key}（已加载：{loaded}） / no process {key} (loaded: {loaded})")
    return _diagram_text(found[0], None, format)


@get(
    "/receptions/{ref:str}/diagram",
    operation_id="getReceptionDiagram",
    summary="接待的流程图 the process diagram with the reception's path and current state",
    tags=["processes"],
    sync_to_thread=True,
    responses=declared(RECEPTION, QUERY),
    media_type=TEXT,
)
def reception_diagram(
    ref: FromPath[str],
    service: NamedDependency[Service],
    principal: NamedDependency[Principal],
    format: FromQuery[Literal["mermaid", "dot"]] = "mermaid",
) -> Response[bytes]:
    del principal
    engine = service.engine
    reception = engine.get(id_of(engine, ref))
    path = diagram.trail(engine.history(reception.id))
    return _diagram_text(engine.process_of(reception).definition, path, format)


@get(
    "/plugins",
    operation_id="listPlugins",
    summary="已加载的插件 plugins in force",
    return_dto=LibraryDTO[list[PluginInfo]],
    tags=["processes"],
    sync_to_thread=True,
    responses=declared(),
)
def plugins(service: NamedDependency[Service], principal: NamedDependency[Principal]) -> list[PluginInfo]:
    del principal
    return list(service.engine.plugins.plugins())


@get(
    "/standards",
    operation_id="getStandards",
    summary="生效的标准 standards in force for a jurisdiction on a day",
    return_dto=LibraryDTO[Standards],
    tags=["processes"],
    sync_to_thread=True,
    responses=declared(QUERY),
)
def standards(
    service: NamedDependency[Service],
    principal: NamedDependency[Principal],
    jurisdiction: FromQuery[str],
    on: FromQuery[date],
    host_unit: FromQuery[str] = "",
) -> Standards:
    del principal
    return service.engine.standards_for(jurisdiction, on, host_unit)


ROUTES = (
    reception_list,
    report,
    audit_verify,
    processes,
    process_diagram,
    reception_diagram,
    plugins,
    standards,
)
