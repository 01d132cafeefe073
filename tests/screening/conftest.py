import pytest

from reviewmgr.models import Membership
from screening import services
from tests.conftest import add_member, make_record, make_user


@pytest.fixture
def records(review):
    made = [
        make_record(review, "Platelet-rich plasma for diabetic neuropathy", year=2020),
        make_record(review, "IL-6 after chronic constriction injury in rats", year=2018),
        make_record(review, "PRP for knee osteoarthritis", year=2019),
    ]
    services.sync_screening_rows(review=review)
    return made


@pytest.fixture
def extractor(review):
    user = make_user("extractor")
    add_member(review, user, Membership.Role.EXTRACTOR)
    return user
