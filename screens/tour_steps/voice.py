"""Voice guidance: 朗读 on the welcome page, then an elderly person whose platform settings turn
elder mode on (the sample card 王堃): the personal page speaks by itself, in each language's
voice. espeak-ng really speaks: to the sound card, or without one to var/voice/last.wav."""

from __future__ import annotations

from screens.tour import TourFailed


def script(tour):
    shell = tour.shell
    speaker = shell.speaker
    if speaker is None or not hasattr(speaker, "spoken"):
        raise TourFailed("voice guidance is off: the demo configuration should have [voice] on")
    yield from tour.wait("the welcome screen", tour.on_screen("welcome"))
    spoken = speaker.spoken
    tour.tap(tour.app.root.ids.speak)  # 朗读
    yield from tour.wait("espeak-ng to say the welcome page", lambda: speaker.spoken > spoken)
    tour.demo.place_card(1)  # 王堃, born 1962: the platform keeps elder mode for him
    yield from tour.wait("elder mode from the platform", lambda: shell.page.screen == "personal" and shell.elder)
    yield from tour.wait("the personal page to speak by itself", lambda: speaker.spoken > spoken + 1)
    tour.shot("identify", "voice")
    for lang in ("zh_TW", "en", "zh_CN"):
        spoken = speaker.spoken
        yield from tour.language(lang)
        yield from tour.wait(f"the page said in {lang}", lambda n=spoken: speaker.spoken > n)
        if lang != "zh_CN":
            tour.shot("identify", "voice")
    tour.tap(tour.screen("personal").ids.logout)
    yield from tour.wait("sign-out", lambda: shell.page.screen == "notice" and not shell.session.active)
    tour.tap(tour.screen("notice").ids.ok)
    tour.demo.remove_card()
    yield from tour.wait("the welcome screen again", lambda: shell.page.screen == "welcome" and not shell.page.use_card)
