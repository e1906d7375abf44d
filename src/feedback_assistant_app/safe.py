"""Student text on the teacher's screen: always text, never markup.

Streamlit renders Markdown in ``st.markdown``, captions, alerts, toasts, titles, widget labels and help, expander
and popover titles, button labels, radio and segmented-control options and progress text. A response, a name, a
section name, a file name, or a label or stem built from them can hold ``**bold**``, ``:red[...]``, ``$x^2$``,
``[a link](...)`` or ``![an image](http://host/x.png)``; the last makes the teacher's browser fetch that address.
Every such string goes through ``md`` before it is put into any of those places. Tables (``st.dataframe``),
``st.text``/``st.code`` and select-box options show text as it is and need nothing.
"""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:@&=^\"'%?/])")


def md(value: object) -> str:
    """A value as literal text inside Markdown: on one line, every Markdown special character backslash-escaped.

    The escaped text renders exactly as typed (``\\*`` shows ``*``), but nothing in it becomes bold, a colour, a
    formula, a link, an image, an icon, a heading or a list: ``:`` and ``.`` are escaped too, so ``http://...``
    and ``www....`` are not turned into links and ``:material/...:`` is not an icon.

    Args:
        value: any value (None shows as "").

    Returns:
        the escaped text.
    """
    text = "" if value is None else " ".join(str(value).split())
    return _SPECIAL.sub(r"\\\1", text)
