"""Message ids the code builds at run time, so `pybabel extract` cannot see them in a tr() call.

Listed here with N_() (which returns its argument) so they reach kiosk/locale/kiosk.pot and every
PO file; the comment above each group says where the ids are built. An id built at run time and
missing here ends up obsolete in the PO files after `make i18n`, which tests/test_i18n.py reports.
"""

from kiosk.i18n import N_

RUNTIME_IDS = (
    # identify_words of the journey (kiosk/journeys/base.py): "<words>.card", ".card_title", ".card_again"
    N_("apply.card"), N_("apply.card_again"), N_("apply.card_title"),
    # kiosk/journeys/home.py: f"card.{card_type}"
    N_("card.citizen_code"), N_("card.foreigner_2017"), N_("card.foreigner_2023"), N_("card.hmt_resident"),
    N_("card.resident"),
    # journeys' `entry` and f"{entry}_sub" (kiosk/welcome.py), slip titles passed to slips._header
    N_("certificate.entry"), N_("certificate.entry_sub"),
    # kiosk/scanned.py: f"code.citizen_{why}"
    N_("code.citizen_expired"), N_("code.citizen_invalid"), N_("code.citizen_unverified"),
    # screens/demo_panel.py: 'demo.card.' + card type, 'demo.code.' + code kind
    N_("demo.card.foreigner_2017"), N_("demo.card.foreigner_2023"), N_("demo.card.hmt_resident"),
    N_("demo.card.resident"), N_("demo.code.citizen"), N_("demo.code.guide"), N_("demo.code.other"),
    N_("demo.code.receipt"),
    # kiosk/upkeep.py: f"device.{name}" or f"device.{kind}"
    N_("device.card_reader"), N_("device.code_scanner"), N_("device.id_reader"), N_("device.printer"),
    # kiosk/slips.py: the time-limit labels of a guide
    N_("guide.limit_legal"),
    # screens/guides.kv: the hot-topic heading
    N_("guides.candidates"), N_("guides.hot"),
    # kiosk/journeys/guide.py: f"hot.{topic}" for HOT_TOPICS
    N_("hot.hukou"), N_("hot.hunyin"), N_("hot.jiaoyu"), N_("hot.shebao"), N_("hot.yibao"),
    N_("hot.yingye"),
    # kiosk/journeys/identify.py: f"identify.{what}" and the journeys' identify_words
    N_("identify.card"), N_("identify.card_again"), N_("identify.card_title"),
    # screens: 'lang.' + language code (kiosk.i18n.LANGUAGES)
    N_("lang.en"), N_("lang.zh_CN"), N_("lang.zh_TW"),
    # kiosk/journeys/lifeevent.py: entry, f"lifeevent.event_{code}", slip title
    N_("lifeevent.entry"), N_("lifeevent.entry_sub"), N_("lifeevent.event_birth"),
    N_("lifeevent.event_business"), N_("lifeevent.event_death"), N_("lifeevent.event_housing"),
    N_("lifeevent.event_marriage"), N_("lifeevent.event_retirement"), N_("lifeevent.event_school"),
    N_("lifeevent.event_work"), N_("lifeevent.slip_title"),
    # kiosk/welcome.py: WELCOME_ENTRIES and the guide journey's entry
    N_("menu.guides"), N_("menu.guides_sub"),
    # kiosk/upkeep.py: f"paper.{state}"
    N_("paper.low"), N_("paper.out"),
    # kiosk/journeys/printing.py: WAITING
    N_("print.waiting_cover"), N_("print.waiting_paper"), N_("print.waiting_printer"),
    # kiosk/journeys/query.py: entry, f"query.state_{state}", f"query.result_{result}", slip title
    N_("query.entry"), N_("query.entry_sub"), N_("query.result_approved"), N_("query.result_denied"),
    N_("query.slip_title"), N_("query.state_accepted"), N_("query.state_awaiting_rating"),
    N_("query.state_concluded"), N_("query.state_delivered"), N_("query.state_not_accepted"),
    N_("query.state_pre_review"), N_("query.state_processing"), N_("query.state_special"),
    N_("query.state_submitted"), N_("query.state_supplement"),
    # kiosk/journeys/rating.py: levels, reasons, phrases, the closing messages
    N_("rating.comment_more"), N_("rating.comment_reasons"), N_("rating.entry_sub"),
    N_("rating.level_1"), N_("rating.level_2"), N_("rating.level_3"), N_("rating.level_4"),
    N_("rating.level_5"), N_("rating.no_case"), N_("rating.no_number"), N_("rating.phrase_callback"),
    N_("rating.phrase_improve"), N_("rating.phrase_told"), N_("rating.reason_attitude"),
    N_("rating.reason_device"), N_("rating.reason_guide"), N_("rating.reason_skill"),
    N_("rating.reason_slow"), N_("rating.reason_trips"),
    # kiosk/slips.py: titles passed to _header, material headings
    N_("slip.certificate_title"), N_("slip.guide_title"), N_("slip.materials_ticked"),
    N_("slip.materials_to_counter"), N_("slip.receipt_title"),
    # kiosk/upkeep.py: f"state.{state}"
    N_("state.busy"), N_("state.hardware_error"), N_("state.no_device"), N_("state.offline"),
    N_("state.online"), N_("state.unknown"), N_("state.user_error"),
    # kiosk/journeys/ticket.py: entry
    N_("ticket.entry"), N_("ticket.entry_sub"),
    # no code uses these today (kept from the JSON catalogues; delete them here and in the PO files
    # once nobody means to)
    N_("common.home"), N_("rating.change"), N_("welcome.browse"),
)
