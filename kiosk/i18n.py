"""The kiosk's languages: gettext catalogues in ``assets/locale/<lang>/LC_MESSAGES/kiosk.mo``.

The msgids are the English texts, so English needs no catalogue and a third
language is one more ``.po`` file (compiled with ``msgfmt``). The screens ask
for a :class:`Translator` per language; messages keep ``{name}`` fields that are
filled after translation, so word order can change per language.
"""

from __future__ import annotations

import gettext
from functools import cache
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent.parent / "assets" / "locale"
DOMAIN = "kiosk"
LANGUAGE_NAMES = {"en": "English", "zh_CN": "简体中文"}


@cache
def translator(language: str) -> gettext.NullTranslations:
    if language == "en":
        return gettext.NullTranslations()
    try:
        return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[language])
    except OSError as err:
        raise LookupError(
            f"no '{DOMAIN}' catalogue for {language!r} in {LOCALE_DIR} (run msgfmt on its .po)"
        ) from err


def tr(language: str, text: str, **fields: str) -> str:
    translated = translator(language).gettext(text)
    return translated.format(**fields) if fields else translated
