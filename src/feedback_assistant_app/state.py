"""The teacher's working session: the current analysis with every edit, kept across reruns and page reloads.

The ``Workspace`` lives in ``st.session_state``; a copy is shelved in-process under a random token that sits
in the page's URL (``?session=...``), so reloading the page picks the same work back up. Each edit is also
saved through ``feedback_assistant.storage.Store`` (when the storage layer is installed), which makes the work
durable across restarts; the History page reopens it.

Widget keys all start with ``w:`` and name the question they belong to, so that after an edit the widgets
showing the old state can be reset to the new one (``reset_widgets``).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from feedback_assistant.records import (
    MISCONCEPTION,
    ON_TARGET,
    UNCLEAR,
    Analysis,
    FeedbackAssistantError,
    QuestionResult,
    Response,
)
from feedback_assistant.storage import StaleEditError

from . import resources
from .safe import md

WS_KEY = "fa_workspace"
TICKETS_KEY = "fa_tickets"
QUESTION_KEY = "fa_question"
QUESTION_PICK_KEY = "fa_question_pick"
SESSION_PARAM = "session"
WIDGET_PREFIX = "w:"
RESET_KEY = "fa_widget_reset"
SHELF_SIZE = 20  # working sessions kept in memory for page reloads (older ones reopen from the history)


@dataclass
class Workspace:
    """One analysed exit ticket and the teacher's edits to it (mutable: it is the session's working copy).

    Attributes:
        analysis: the current analysis, every edit applied.
        details: what the ticket is saved under: section, teacher, date, topic.
        token: random id of this working session (in the URL, so a reload finds it again).
        ticket_ids: storage id per class section once saved (a ticket with several periods is saved as one
            ticket per period), empty when not saved.
        coords: per question index, shape (n, 2) map positions of its responses (computed once; edits do not
            move responses in embedding space).
        edits: how many edits were made (shown; also versions ``memo``).
        save_problem: the last storage error in a teacher's words, or None.
        memo: downloads and tables computed for the current state of the work.
        versions: (section, question) -> the saved version this window's copy is based on (a save from a
            stale copy is refused by the store: "this class changed in another window").
        stale: another window saved this class since this copy was read (``reload_saved`` fetches it).
    """

    analysis: Analysis
    details: dict = field(default_factory=dict)
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    ticket_ids: dict = field(default_factory=dict)
    coords: dict = field(default_factory=dict)
    edits: int = 0
    save_problem: str | None = None
    memo: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    stale: bool = False

    def remember(self, name: str, make: Callable[[], object]):
        """``make()`` computed once per state of the work (recomputed after each edit)."""
        key = (name, self.edits)
        if key not in self.memo:
            self.memo = {k: v for k, v in self.memo.items() if k[1] == self.edits}
            self.memo[key] = make()
        return self.memo[key]


@st.cache_resource(show_spinner=False)
def _shelf() -> dict[str, Workspace]:
    """Workspaces of this server process by token, so that a page reload finds its work again."""
    return {}


def workspace() -> Workspace | None:
    """The session's workspace: from session state, else the one named in the URL (after a page reload)."""
    ws = st.session_state.get(WS_KEY)
    if ws is not None:
        return ws
    token = st.query_params.get(SESSION_PARAM)
    if token and token in _shelf():
        ws = _shelf()[token]
        st.session_state[WS_KEY] = ws
        return ws
    return None


def keep_in_url(ws: Workspace | None) -> None:
    """Shelve the work and put its token in the URL (page switches clear it), so a reload comes back to it."""
    if ws is None:
        return
    shelf = _shelf()
    if ws.token not in shelf:
        shelf[ws.token] = ws
        for old in list(shelf)[:-SHELF_SIZE]:
            shelf.pop(old, None)
    if st.query_params.get(SESSION_PARAM) != ws.token:
        st.query_params[SESSION_PARAM] = ws.token


def start(
    analysis: Analysis, details: dict | None = None, ticket_ids: dict | None = None, versions: dict | None = None
) -> Workspace:
    """Make ``analysis`` the session's work: forget old widget values, shelve it and save it to the history
    (unless it was reopened from there: then ``ticket_ids`` names where it is saved, and ``versions`` the saved
    versions read together with ``analysis`` (``Store.open_ticket``), keyed (section, question))."""
    ws = Workspace(
        analysis=analysis,
        details=dict(details or {}),
        ticket_ids=dict(ticket_ids or {}),
        versions=dict(versions or {}),
    )
    if ws.details.get("teacher"):
        st.session_state[TEACHER_KEY] = ws.details["teacher"]  # the History page lists this teacher's classes
    reset_widgets()
    st.session_state[WS_KEY] = ws
    st.session_state.pop(QUESTION_KEY, None)
    if not ws.ticket_ids:
        _save(ws)
    elif not ws.versions:
        _load_versions(ws)
    keep_in_url(ws)
    return ws


TEACHER_KEY = "fa_teacher"


def teacher() -> str:
    """Who is using this window: the name typed on the Upload page, else ``FEEDBACK_ASSISTANT_TEACHER``, else
    the login name (on a PLC server the store uses the database role whatever is typed)."""
    from feedback_assistant.storage import current_teacher

    return current_teacher(st.session_state.get(TEACHER_KEY))


def history(name: str | None = None):
    """The history store acting for ``name`` (default: this window's teacher)."""
    store = resources.store()
    if store.plc:  # on a PLC server the database login is the teacher, whatever name is typed
        return store
    name = name or teacher()
    return store if store.teacher == name else store.as_teacher(name)


def _load_versions(ws: Workspace) -> None:
    """The saved versions of a reopened ticket's questions (the base of this window's edits)."""
    try:
        store = history(ws.details.get("teacher"))
        ws.versions = {
            (name, question): v
            for name, ticket in ws.ticket_ids.items()
            for question, v in store.versions(ticket).items()
        }
    except FeedbackAssistantError as exc:
        ws.save_problem = f"Your edits are kept in this window, but your history could not be read: {exc}"


def saved_analysis(ws: Workspace) -> Analysis:
    """What the downloads are made from: the class as saved in the history (read back from the store), so a file
    holds exactly what was saved; the window's copy when nothing is saved yet or the ticket spans several classes
    (saved as one ticket per class)."""
    if len(ws.ticket_ids) != 1:
        return ws.analysis

    def load() -> Analysis:
        try:
            return history(ws.details.get("teacher")).load_analysis(next(iter(ws.ticket_ids.values())))
        except FeedbackAssistantError:
            return ws.analysis

    return ws.remember("saved analysis", load)


def reload_saved() -> None:
    """Replace this window's copy with the class as saved (after another window saved it: ``Workspace.stale``)."""
    ws = st.session_state[WS_KEY]
    try:
        analysis, versions = history(ws.details.get("teacher")).open_ticket(next(iter(ws.ticket_ids.values())))
    except FeedbackAssistantError as exc:
        ws.save_problem = f"The saved class could not be read: {exc}"
        return
    section = next(iter(ws.ticket_ids))
    ws.analysis, ws.versions = analysis, {(section, q): v for q, v in versions.items()}
    ws.stale, ws.save_problem = False, None
    ws.edits += 1  # downloads and tables are made again
    reset_widgets()


def _save(ws: Workspace, qi: int | None = None) -> None:
    """Save the analysis (or, after an edit, question ``qi``) to the history store.

    A ticket that mixes class periods is saved as one ticket per period (the store's rule); edits are saved to
    each. A failure is shown in the sidebar, never raised: the work stays in this window.
    """
    try:
        store = history(ws.details.get("teacher"))
        if not ws.ticket_ids:
            ws.ticket_ids = store.save_analysis(ws.analysis, **_save_kwargs(ws.details))
            ws.versions = {(name, r.question): 0 for name in ws.ticket_ids for r in ws.analysis.results}
        else:
            from feedback_assistant.storage import split_by_section

            parts = split_by_section(ws.analysis, ws.details.get("section"))
            for name, part in parts.items():
                if name not in ws.ticket_ids:
                    continue
                for i, result in enumerate(part.results):
                    if qi is None or i == qi:  # one small transaction, refused if another window saved first
                        key = (name, result.question)
                        ws.versions[key] = store.save_result(
                            ws.ticket_ids[name], result, version=ws.versions.get(key, 0)
                        )
        ws.save_problem = None
    except StaleEditError as exc:
        ws.stale = True
        ws.save_problem = f"Your last change was not saved: {exc}"
    except FeedbackAssistantError as exc:
        ws.save_problem = f"Your edits are kept in this window, but saving them to your history failed: {exc}"
    except Exception as exc:  # noqa: BLE001 - the teacher's edits must survive a storage hiccup
        ws.save_problem = (
            f"Your edits are kept in this window, but saving them to your history failed ({type(exc).__name__})."
        )


def _save_kwargs(details: dict) -> dict:
    return {
        "section": details.get("section") or None,
        "date": details.get("date") or None,
        "topic": details.get("topic") or None,
    }


def update(qi: int, new_result: QuestionResult, *, keep: str | None = None) -> None:
    """Replace question ``qi``'s result with an edited one, save it, and reset that question's widgets.

    Args:
        qi: index of the question in ``analysis.results``.
        new_result: the edited ``QuestionResult``.
        keep: a widget key not to reset (the widget that made the edit already shows the new value).
    """
    ws = st.session_state[WS_KEY]
    results = list(ws.analysis.results)
    old_result, results[qi] = results[qi], new_result
    ws.analysis = dataclasses.replace(ws.analysis, results=tuple(results))
    ws.edits += 1
    _save(ws, qi)
    _remember(ws, qi, old_result, new_result)
    reset_widgets(question=qi, keep=keep)


def memory(name: str | None = None):
    """The teacher's memory of earlier classes, for ``pipeline.analyze(memory=...)``; None when the history
    cannot be opened."""
    try:
        store = history(name)
    except FeedbackAssistantError:
        return None
    from feedback_assistant.storage_memory import MemoryStore, StoredMemory

    return StoredMemory(MemoryStore(store), store.teacher)


def _remember(ws: Workspace, qi: int, old: QuestionResult, new: QuestionResult) -> None:
    """Keep the teacher's action on question ``qi`` as labelled examples of each class in the ticket (a renamed
    group is renamed in the memory of earlier classes too). A failure is shown like a failed save."""
    import datetime as dt

    from feedback_assistant.storage import split_by_section

    source = memory(ws.details.get("teacher"))
    if source is None:
        return
    try:
        before = {g.group_id: g.label for g in old.groups}
        for g in new.groups:
            if g.group_id in before and before[g.group_id] != g.label:
                source.store.rename(source.teacher, new.question, before[g.group_id], g.label)
        date = ws.details.get("date") or dt.date.today().isoformat()
        for name, part in split_by_section(ws.analysis, ws.details.get("section")).items():
            result = next((r for r in part.results if r.question == new.question), None)
            if result is not None:
                notice = source.store.record_result(source.teacher, name, date, result).notice
                if notice:
                    flash("warning", notice)
    except Exception as exc:  # noqa: BLE001 - the teacher's edits must survive a storage hiccup
        ws.save_problem = (
            f"Your edits are kept in this window, but keeping them for your next classes failed ({type(exc).__name__})."
        )


def edit(qi: int, fn: Callable[..., QuestionResult], *args, keep: str | None = None) -> bool:
    """Apply a core edit ``fn(result, *args)`` to question ``qi``; show the teacher its error if it refuses.

    Returns:
        True when the edit was applied.
    """
    ws = st.session_state[WS_KEY]
    try:
        new = fn(ws.analysis.results[qi], *args)
    except FeedbackAssistantError as exc:
        st.session_state["fa_flash"] = ("error", str(exc))
        reset_widgets(question=qi)
        return False
    update(qi, new, keep=keep)
    return True


def edit_text(
    qi: int,
    fn: Callable[..., QuestionResult],
    group_id: int,
    key: str,
    *,
    empty: str,
    clean: Callable[[str], str] = str.strip,
) -> None:
    """Apply ``fn(result, group_id, text)`` with the text typed into widget ``key``.

    Empty text is refused: the teacher sees ``empty`` and the widget shows the previous text again.
    """
    text = clean(str(st.session_state[key]))
    if not text:
        flash("warning", empty)
        reset_widgets(question=qi)
        return
    edit(qi, fn, group_id, text, keep=key)


def flash(kind: str, message: str) -> None:
    """Queue a message to show at the top of the next run (callbacks run before the page draws)."""
    st.session_state["fa_flash"] = (kind, message)


def show_flash() -> None:
    """Show (once) the message an action queued: a toast, seen wherever the page is scrolled, and for a
    problem also a box at the top of the page."""
    item = st.session_state.pop("fa_flash", None)
    if item:
        kind, message = item
        icons = {
            "success": ":material/check_circle:",
            "error": ":material/error:",
            "warning": ":material/warning:",
        }
        st.toast(message, icon=icons.get(kind, ":material/info:"))
        if kind in ("error", "warning"):
            {"error": st.error, "warning": st.warning}[kind](message)


def forget() -> None:
    """Close the current work in this window (the history keeps it)."""
    ws = st.session_state.pop(WS_KEY, None)
    if ws is not None:
        _shelf().pop(ws.token, None)
    st.query_params.pop(SESSION_PARAM, None)
    st.session_state.pop(QUESTION_KEY, None)
    reset_widgets()


# --- widget keys --------------------------------------------------------------------------------------------


def wkey(question: int, *parts) -> str:
    """A widget key tied to a question, e.g. ``wkey(0, "label", 3)`` -> ``"w:0:label:3"``."""
    return WIDGET_PREFIX + ":".join(str(p) for p in (question, *parts))


def init_widget(key: str, value) -> str:
    """Give a keyed widget its starting value unless the teacher already changed it; returns the key."""
    if key not in st.session_state:
        st.session_state[key] = value
    return key


def reset_widgets(question: int | None = None, keep: str | None = None) -> None:
    """Forget widget values (of one question, or all) so they show the current state on the next draw.

    The values are forgotten when the next draw starts (``refresh_widgets``), not now: one interaction can run
    several callbacks in one rerun (typing in a box and then clicking a toggle sends both changes at once), and
    a callback that runs after an edit must still find its own widget's value.

    Args:
        question: index of the question whose widgets to forget; None for every question.
        keep: a widget key not to forget (the widget that made the edit already shows the new value).
    """
    st.session_state.setdefault(RESET_KEY, []).append((question, keep))


def refresh_widgets() -> None:
    """Forget the widget values that edits since the last draw asked to reset (call before any widget is drawn).

    A widget whose callback made an edit keeps its value; every other widget of an edited question is drawn
    again from the current state (``init_widget`` sends that value to the browser, so no stale choice stays
    on screen).
    """
    pending = st.session_state.pop(RESET_KEY, None)
    if not pending:
        return
    kept = {keep for _, keep in pending if keep}
    prefixes = tuple(WIDGET_PREFIX if q is None else wkey(q) + ":" for q, _ in pending)
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(prefixes) and k not in kept]:
        del st.session_state[key]


# --- page helpers -------------------------------------------------------------------------------------------


def require_analysis() -> Workspace:
    """The workspace, or a pointer to the Upload page and a stop when nothing is analysed yet.

    Called at the top of a page, before its widgets: also applies the widget resets edits asked for
    (``refresh_widgets``; ``app.py`` does it too, but a page run on its own, as in AppTest, starts here).
    """
    refresh_widgets()
    ws = workspace()
    if ws is None:
        st.info("Nothing to show yet: upload an exit ticket first.")
        st.page_link("pages/upload.py", label="Go to Upload", icon=":material/upload_file:")
        st.stop()
    return ws


def current_question(ws: Workspace) -> tuple[int, QuestionResult]:
    """The question the teacher is looking at (picked in the sidebar)."""
    qi = int(st.session_state.get(QUESTION_KEY, 0) or 0)
    if not 0 <= qi < len(ws.analysis.results):
        qi = 0
    return qi, ws.analysis.results[qi]


def short(text: str, limit: int = 90) -> str:
    """Text folded onto one line and cut to ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


STATUS_OPTIONS = (ON_TARGET, MISCONCEPTION, UNCLEAR)
_STATUS_TEXT: dict[str, str] = {
    ON_TARGET: ":material/check_circle: On target",
    MISCONCEPTION: ":material/error: Misconception",
    UNCLEAR: ":material/help: Not sure",
}


def status_text(status: str) -> str:
    """A group status as the teacher reads it."""
    return _STATUS_TEXT.get(status, str(status))


def status_shown(status: str, confirmed: bool) -> str:
    """A group status as shown next to the group: marked as the tool's suggestion until a key or the teacher
    confirmed it (e.g. "suggested: on target")."""
    return status_text(status) if confirmed else f":material/help_outline: suggested: {status}"


def who(response: Response) -> str:
    """The student's name, or the spreadsheet row when the file has no names."""
    return response.student or f"Row {response.source_row + 2}"


def question_title(result: QuestionResult, limit: int = 90) -> str:
    """The question as a short one-line title."""
    return short(result.question, limit) or "The exit-ticket question"


def _pick_question() -> None:
    st.session_state[QUESTION_KEY] = st.session_state[QUESTION_PICK_KEY]


def sidebar(ws: Workspace | None) -> None:
    """Common sidebar: what is open, the question picker, and where the work is saved."""
    if ws is None:
        return
    with st.sidebar:
        a = ws.analysis
        st.markdown(f"**{md(a.source_name or 'Exit ticket')}**")
        n = sum(len(r.responses) for r in a.results)
        st.caption(f"{n} responses · {len(a.results)} question{'s' if len(a.results) != 1 else ''}")
        if len(a.results) > 1:
            current, _ = current_question(ws)
            st.session_state[QUESTION_PICK_KEY] = current
            st.radio(
                "Question",
                list(range(len(a.results))),
                format_func=lambda i: f"Q{i + 1}: {md(question_title(a.results[i], 60))}",
                key=QUESTION_PICK_KEY,
                on_change=_pick_question,
            )
        if ws.save_problem:
            st.warning(md(ws.save_problem))
            if ws.stale and len(ws.ticket_ids) == 1:
                st.button("Reload the saved class", key="fa_reload", on_click=reload_saved, icon=":material/refresh:")
        elif ws.ticket_ids:
            st.caption(":material/save: Every change is saved to your history on this computer.")
        else:
            st.caption("Edits are kept while this window is open.")
        st.caption(":material/lock: Student responses never leave this computer.")


SAMPLE_OFFER_KEY = "fa_sample_offer"
SAMPLES_DIR = Path(__file__).resolve().parents[2] / "sample_responses"


def offer_sample(path: str | None) -> None:
    """Remember (once per session) the sample file named on the command line, for the Upload page to open."""
    if path and not st.session_state.get("fa_sample_offered"):
        st.session_state["fa_sample_offered"] = True
        p = Path(path)
        if not p.is_absolute() and not p.exists():
            p = SAMPLES_DIR.parent / p
        st.session_state[SAMPLE_OFFER_KEY] = str(p)


def sample_files() -> list[Path]:
    """The sample exit tickets shipped with the app."""
    if not SAMPLES_DIR.is_dir():
        return []
    return sorted(p for p in SAMPLES_DIR.iterdir() if p.suffix.lower() in (".csv", ".xlsx"))
