"""The API's endpoints. Each goes through the pages' gate (reviewmgr.permissions: an outsider
gets 404, a missing role 403), shows what the pages would show to the same person (blinding
included: screening.blinding), and writes only through the product's services."""

from api.views.reports import (
    export_detail,
    export_download,
    export_list,
    prisma,
    study_detail,
    study_list,
)
from api.views.reviews import (
    import_detail,
    import_list,
    record_detail,
    record_list,
    review_detail,
    review_list,
)
from api.views.screening import conflict_list, decision_detail, decision_list, resolve

__all__ = [
    "conflict_list",
    "decision_detail",
    "decision_list",
    "export_detail",
    "export_download",
    "export_list",
    "import_detail",
    "import_list",
    "prisma",
    "record_detail",
    "record_list",
    "resolve",
    "review_detail",
    "review_list",
    "study_detail",
    "study_list",
]
