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


def apply() -> None:
    """Each fix, once, before the first label draws."""
    release_text_surfaces()
    drop_emptied_textures()
