"""Where Kivy 2.3.1 keeps memory it has no use for; each fix was found by the soak (bench/SOAK.md)
and has a test that also runs Kivy's own behaviour, so that it says when the fix can go."""

from __future__ import annotations


class OneBarBinding:
    """Kivy's ScrollView binds ``bar_color`` on every scroll update and unbinds it once, half a
    second after the last: a burst of updates (a list filled, a page laid out, a swipe) leaves all
    but one binding behind, for as long as the app runs (the soak counted ~13 a session on the
    search's list). Dropping the previous binding first keeps it to one; the bar behaves the same."""

    def update_from_scroll(self, *largs):
        self.funbind("bar_color", self._change_bar_color)
        super().update_from_scroll(*largs)


def release_text_surfaces() -> None:
    """Kivy's SDL2 text provider draws a label into an SDL surface, copies the pixels out for the
    texture and keeps the surface until the label draws again: every label on every built screen
    holds a second, CPU-side copy of its text's bitmap, sized by the last text it showed (heaptrack:
    +3.8 MB of such surfaces from session 10 to 20 of the soak, as pages filled with citizens'
    content). The pixels are copied before the surface goes, so nothing drawn changes."""
    from kivy.core.text import text_sdl2

    provider = text_sdl2.LabelSDL2
    if getattr(provider, "releases_surface", False):
        return
    keep = provider._render_end

    def _render_end(self):
        try:
            return keep(self)
        finally:
            self._surface = None

    provider._render_end = _render_end
    provider.releases_surface = True


def drop_emptied_textures() -> None:
    """A label whose text is emptied shows nothing, but Kivy's core label keeps the texture of what
    it showed last, in GL memory, until it draws text again. The kiosk empties every page when a
    person goes (screens/app.py): without this, each screen not on show kept a bitmap of the last
    person's names and numbers in GL memory, and each label the size of whatever it showed last."""
    from kivy.uix.label import Label

    if getattr(Label, "drops_emptied_texture", False):
        return
    update = Label.texture_update

    def texture_update(self, *largs):
        update(self, *largs)
        if self.texture is None:
            self._label.texture = None

    Label.texture_update = texture_update
    Label.drops_emptied_texture = True


KIVY_FONTS = 64  # font objects Kivy's SDL2 text provider keeps open, the first opened going first
_fonts: dict[str, dict] = {}  # Kivy's key of each font object opened -> the options it was opened with
_drawn: set[str] = set()  # the font objects drawn with since empty_glyph_caches last ran


def track_fonts() -> None:
    """Note each font object Kivy opens (its key and options), for ``empty_glyph_caches``."""
    from kivy.core.text import text_sdl2

    provider = text_sdl2.LabelSDL2
    if getattr(provider, "tracks_fonts", False):
        return
    font_id = provider._get_font_id

    def _get_font_id(self):
        key = font_id(self)
        _drawn.add(key)
        if key not in _fonts:  # asked first just before Kivy opens it
            _fonts[key] = dict(self.options)
            while len(_fonts) > KIVY_FONTS:  # closed by Kivy: not to be opened again from here
                del _fonts[next(iter(_fonts))]
        return key

    provider._get_font_id = _get_font_id
    provider.tracks_fonts = True


def fonts_opened() -> list[str]:
    """Kivy's keys of the font objects it has open, the first opened first."""
    return list(_fonts)


class _FontKey:
    """What Kivy's renderer asks of a label: the font's key and the drawing options."""

    def __init__(self, key: str, options: dict):
        self.key, self.options = key, options

    def _get_font_id(self) -> str:
        return self.key


def empty_glyph_caches() -> int:
    """SDL_ttf keeps up to 256 drawn glyphs in each font object, and the kiosk has ~55 (faces, sizes,
    bold, elder mode). A font object drawn with by every citizen (the welcome page's, the guides')
    keeps a full cache from the first hour: bounded, and what keeps their pages quick to draw
    (emptied at every sign-out, the first page after it drew 10-25 ms slower in make bench).
    The others (elder mode, 繁體, a page few open) fill bit by bit with the characters of the few
    who use them and keep them (heaptrack: +1.5 MB from session 30 to 150 of the soak). So: a
    font object not drawn with since the last call has its cache emptied. Call once a person has
    gone, on the UI thread; returns how many font objects it emptied (~1 ms for 55).

    How: SDL_ttf empties a font's cache when its outline width changes, and Kivy's renderer sets
    a label's outline for the draw and puts it back to none after. A blank drawn with an outline
    leaves the cache empty and the font as it was (changing the hinting would too, but HarfBuzz
    then places the glyphs a pixel apart from before)."""
    from kivy.core.text._text_sdl2 import _SurfaceContainer

    surface, emptied = _SurfaceContainer(1, 1), 0
    for key, options in list(_fonts.items()):
        if key in _drawn:
            continue
        try:
            surface.render(_FontKey(key, {**options, "outline_width": 1}), " ", 0, 0)
        except AssertionError:  # Kivy could not open it (its way of failing): nothing cached
            del _fonts[key]
            continue
        emptied += 1
    _drawn.clear()
    return emptied


def apply() -> None:
    """Each fix, once, before the first label draws."""
    release_text_surfaces()
    drop_emptied_textures()
    track_fonts()
