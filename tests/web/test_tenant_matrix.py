"""The tenant-isolation matrix: every URL pattern (walked from the resolver, so a new page is
covered without anyone remembering it) × every kind of attacker × GET and POST.

The world (tests/web/tenant_world.py, built once per class) has a victim region with two victim
units holding a record of every kind (enrolment, stop, transfer, changes, wage declarations,
back pay, a settlement with its lines, arrears and a payment, injury rates, an operator, a
material), a victim person with a flexible-worker record and its assessment, the victim
region's staff, a first-registration draft; and the attackers: ``anonymous``, another unit of
the same region (``unit_same_region``) and of another region (``unit_other_region``), another
person (``person``) and staff of another region (``staff_other_region``).

How a URL is probed (one test per attacker kind; each URL inside a savepoint rolled back after,
so the world stays as built):

- **Object URLs** (with parameters): the parameters come from the victim's objects, by name
  (``PARAMS``; a serial number by URL, ``SERIAL_FOR``). GET and POST (empty body, then a
  generic body naming victim objects) must answer 302, 403 or 404 — 405 where the view does not
  take the method. ``test_every_parameter_is_known`` fails when a pattern has a parameter the
  tables do not know, so a new URL forces its entry. ``test_the_owner_reaches_every_object_url``
  is the control: the owner (the victim's operator, person, staff or a superuser) does reach each
  object URL (no 404, no 500), so an attacker's 404 means refused, not missing; the URLs it
  cannot reach are ``UNREACHABLE``, each with its reason, and the test keeps that list exact.
- **Hall pages without parameters** are scoped to the signed-in user. An attacker of the
  page's hall (another unit on a unit page, staff of another region on a staff page, another
  person on a person page) may get 200; then the answer must show no victim marker (the victim
  units' names, the persons' names and masked ID numbers, the filings' serial numbers), also
  with a query string naming victim objects (the markers of what the query names aside, as a
  form echoes them). An attacker of another hall, or anonymous, gets 302, 403 or 404.
- **Public pages** (``PUBLIC``, each with its reason; the Django admin's own sign-in pages,
  sign-in, sign-up, the calculator, the API, the businesses' guides; ``PUBLIC_CONTENT`` for
  those whose parameter names public content) may answer anything but 500, and must show no
  victim marker either.
- Every request: never 500; and no business row changes (all models of the shebao apps, minus
  the bookkeeping of ``tenant_probe.BOOKKEEPING``: audit rows, SMS outbox, verification codes;
  sessions and django-axes rows are not shebao's) — the POST with a generic body included, so an
  attacker's POST that is accepted (and would create its own rows) fails too. The exception is
  ``OWN_WRITES`` (each with its reason): pages where the generic body makes an attacker of the
  page's hall act on its own records (a unit settling its own period); there no row, before or
  after, may name a victim unit, person or filing, nor the victim region for an actor of another
  region. Rows are compared, not hashed, so a failure names the tables; on SQLite the snapshot is
  skipped when the connection wrote nothing.
- The Django admin (superusers only) answers 302 to all these actors but its own sign-in pages.
- Unnamed patterns (the admin's catch-all) are walked too, their path filled in from ``PARAMS``.

Rate limits are off (``RATELIMIT_ENABLE``) and the development console is off, as in
production."""

import itertools
from urllib.parse import urlencode

from django.conf import settings
from django.test import Client, TestCase, override_settings
from django.urls import reverse

from shebao.core.ids import mask_id_number
from shebao.web.guides import GUIDES
from tests.web import tenant_probe as probe
from tests.web.tenant_world import PERIOD, World, build

ATTACKER_HALL = {
    "anonymous": None,
    "unit_same_region": "unit",
    "unit_other_region": "unit",
    "person": "person",
    "staff_other_region": "staff",
}
HALLS = {"unit", "person", "staff"}
SAME_REGION = {"unit_same_region"}  # the victim region is its own
REFUSED = {302, 403, 404, 405}

PUBLIC = {
    "web:home": "the site's home page",
    "web:calculator": "the public contribution calculator",
    "web:csp_report": "Content-Security-Policy violation reports from browsers (logged only)",
    "web:favicon": "the site's icon (a redirect to the static file), asked for by every browser",
    "web:dev_console": "development console: 404 with SHEBAO_DEV_CONSOLE off, as in production",
    "web:guides": "the list of the businesses' printable guides (业务流程说明)",
    "web:guides_all": "every business's guide on one printable page",
    "api:api-root": "the API's root",
    "api:calculator": "the public calculator API",
    "api:openapi-json": "the API's schema",
    "api:openapi-view": "the API's documentation page",
    "registration:new": "the public first-registration form",
    "registration:reopen": "reopening an application by serial number, mobile and SMS code",
    "registration:reopen_code": "the SMS code for reopening (sent only to the filing's mobile)",
    "accounts:unit_login": "sign-in",
    "accounts:person_login": "sign-in",
    "accounts:staff_login": "sign-in",
    "accounts:verify": "the second sign-in factor of the session's own pending sign-in",
    "accounts:verify_resend": "resends the session's own pending sign-in code",
    "accounts:logout": "signs the session out",
    "accounts:forgot_unit": "password reset by SMS",
    "accounts:forgot_person": "password reset by SMS",
    "accounts:forgot_staff": "password reset by SMS",
    "accounts:forgot_reset": "password reset: the session's own code",
    "accounts:person_signup": "person sign-up",
    "accounts:person_signup_resend": "person sign-up: the session's own code",
    "accounts:password_change": "the signed-in user's own password",
    "accounts:totp_setup": "the signed-in staff member's own TOTP binding",
    "accounts:unit_bind": "binding a unit with a registration code issued at the counter",
    "accounts:unit_bind_code": "the SMS code of the unit binding (to the unit's own mobile)",
    "admin:login": "the Django admin's sign-in page",
    "admin:logout": "the Django admin's sign-out",
    "admin:jsi18n": "the Django admin's JavaScript catalogue",
}

# Public pages whose parameter names public content, not anyone's object (each with its reason).
PUBLIC_CONTENT = {
    "web:guide": "one business's printable guide (业务流程说明): the same text for everyone",
}

# Pages where an attacker of the page's hall acts on its own records with the generic body
# (then only rows naming a victim object count as a change).
OWN_WRITES = {
    "unit:settlement_preview": "POST settles the signed-in unit's own current period",
    "staff:region_rules": "POST sets the review rules of the staff member's own regions",
}

# serial_no by URL: the label of the victim's filing (tenant_world.World.serials), or a tuple of
# labels; "*" tries them all, "*unit" all of the victim enterprise's (the pages that take a
# filing of any kind).
SERIAL_FOR = {
    "registration:status": "unit_registration",
    "registration:edit": "unit_registration",
    "registration:code": "unit_registration",
    "registration:submit": "unit_registration",
    "registration:cancel": "unit_registration",
    "unit:filing": "*unit",
    "unit:filing_action": "*unit",
    "staff:review": "*",
    "unit:enrolment_edit": "enrolment",
    "unit:enrolment_row": "enrolment",
    "unit:enrolment_row_remove": "enrolment",
    "unit:stop_edit": "stop",
    "unit:transfer_out_edit": "transfer_out",
    "unit:transfer_in_edit": "transfer_in",
    "unit:transfer_in_row": "transfer_in",
    "unit:transfer_in_row_remove": "transfer_in",
    "unit:change_edit": "person_key_change",
    "unit:change_form_xlsx": "person_key_change",
    "unit:wages_annual_edit": "wage_annual",
    "unit:wages_monthly_edit": "wage_monthly",
    "unit:wages_row_remove": "wage_annual",
    "unit:back_pay_edit": "back_pay",
    "unit:adjust_pay_edit": "adjust_pay",
    "unit:supplement_pay_edit": "supplement_pay",
    "unit:backpay_row_remove": "back_pay",
    "person:flexible_cancel": "flexible_enrolment",
    "staff:legal_rep_id_reveal": ("unit_registration", "unit_key_change"),
}
NOT_THE_ENTERPRISES = {"wage_monthly", "flexible_enrolment", "unit_registration"}
FLEXIBLE_SETTLEMENT = {"person:flexible_rollback", "staff:flexible_rollback"}


def _serials(w: World, name: str) -> list[str]:
    label = SERIAL_FOR[name]
    if label == "*":
        return list(w.serials.values())
    if label == "*unit":
        return [v for k, v in w.serials.items() if k not in NOT_THE_ENTERPRISES]
    if isinstance(label, tuple):
        return [w.serials[one] for one in label]
    return [w.serials[label]]


def _rows(w: World, name: str) -> list[int]:
    return [w.rows[SERIAL_FOR[name]]]


def _settlement(w: World, name: str) -> list[int]:
    return [w.flexible_settlement_id if name in FLEXIBLE_SETTLEMENT else w.settlement_id]


# Parameter name -> the victim's values for a URL (w: the world, n: the URL's name).
PARAMS = {
    "serial_no": _serials,
    "row_id": _rows,
    "settlement_id": _settlement,
    "job_id": lambda w, n: [w.job_id],
    "parameter_set_id": lambda w, n: [w.parameter_set_id],
    "material_id": lambda w, n: [w.material_id],
    "kept_id": lambda w, n: [w.kept_id],
    "operator_id": lambda w, n: [w.victim_clerk.pk],
    "person_no": lambda w, n: [w.persons[3 if n == "staff:person_lock_detail" else 5].person_no],
    "unit_no": lambda w, n: [w.victim_admin.unit.unit_no],
    "period": lambda w, n: [PERIOD],
    "slug": lambda w, n: [GUIDES[0].slug],  # web:guide (public content)
    # Django admin (superusers only): any object of its model answers the same for others.
    "object_id": lambda w, n: [str(w.victim_admin.unit.pk)],
    "content_type_id": lambda w, n: ["1"],
    "app_label": lambda w, n: ["registry"],
    "url": lambda w, n: [f"registry/unit/{w.victim_admin.unit.pk}/change/"],  # admin catch-all
}

# Object URLs the owner control cannot reach with this world, each with its reason.
READ_ONLY_ADMIN = "the admin is read-only for business models: delete is 403 to superusers too"
UNREACHABLE: dict[str, str] = {
    **{
        f"admin:{model}_delete": READ_ONLY_ADMIN
        for model in (
            "accounts_user",
            "core_auditentry",
            "core_region",
            "core_smsmessage",
            "django_tasks_database_dbtaskresult",
            "filings_filing",
            "registry_enrolment",
            "registry_person",
            "registry_rosterentry",
            "registry_unit",
        )
    },
    "admin:view_on_site": "no model has get_absolute_url: 404 to everyone",
}


def owner(w: World, name: str, namespace: str):
    """Who may use an object URL: (user or None, extra session data)."""
    if name == "unit:wages_monthly_edit":
        return w.institution_admin, {}
    if namespace == "registration":
        return None, {
            "registration_serials": list(w.serials.values()),
            "kept_materials_owner": w.kept_owner,
        }
    return {
        "unit": w.victim_admin,
        "web": w.victim_admin,
        "person": w.victim_person_user,
        "staff": w.victim_staff,
        "admin": w.superuser,
    }[namespace], {}


def urls_of(w: World, route: probe.Route) -> list[str]:
    values = [PARAMS[p](w, route.name) for p in route.params]
    combos = [dict(zip(route.params, c, strict=True)) for c in itertools.product(*values)]
    if route.name != route.route:
        return [reverse(route.name, kwargs=kwargs or None) for kwargs in combos]
    return [probe.fill(route.route, kwargs) for kwargs in combos]  # an unnamed pattern


def generic(w: World) -> dict:
    """A form body (and query string) naming victim objects in the usual field names."""
    p, unit = w.persons[5], w.victim_admin.unit
    serial = w.serials["enrolment"]
    return {
        "q": p.person_no,
        "id_number": p.id_number,
        "person_no": p.person_no,
        "person": p.pk,
        "unit_no": unit.unit_no,
        "unit_key": unit.unit_no,
        "unit": unit.pk,
        "serial_no": serial,
        "region": w.victim_region.code,
        "period": PERIOD,
        "settle_period": PERIOD,
        "item": "110",
        "amount": "1.00",
        "paid_on": "2025-09-01",
        "action": "approve",
        "reason": "测试",
        "note": "测试",
        "year": "2025",
    }


def echoed(w: World) -> set[str]:
    """Markers a page may echo from the generic query: the probed person's, the serial's."""
    p = w.persons[5]
    return {p.name, mask_id_number(p.id_number), w.serials["enrolment"]}


def client_for(user, session=None) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    if session:
        s = client.session
        s.update(session)
        s.save()
    return client


@override_settings(RATELIMIT_ENABLE=False, SHEBAO_DEV_CONSOLE=False)
class TenantMatrix(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.world = build()
        cls.storages = settings.STORAGES  # where the world's materials are

    def setUp(self):
        self.enterContext(override_settings(STORAGES=self.storages))
        self.models = probe.business_models()
        self.routes = probe.walk()

    def probe_actor(self, actor: str) -> list[str]:
        w = self.world
        user = w.attackers[actor]
        client = client_for(user)
        hall = ATTACKER_HALL[actor]
        body = generic(w)
        query = "?" + urlencode(body)
        problems = []
        base = probe.snapshot(self.models)
        for route in self.routes:
            own_hall = route.namespace in HALLS and route.namespace == hall
            for url in urls_of(w, route):
                with probe.rolled_back():
                    count = probe.write_count()
                    answers = [("GET", client.get(url))]
                    if not route.params:
                        answers.append(("GET?", client.get(url + query)))
                    answers += [("POST", client.post(url)), ("POST+", client.post(url, body))]
                    moved = count is None or probe.write_count() != count
                    changes = probe.diff(base, probe.snapshot(self.models)) if moved else {}
                if user is not None and "_auth_user_id" not in client.session:
                    client.force_login(user)  # a sign-out page signed the client out
                    base = probe.snapshot(self.models)
                where = f"{actor} {url}"
                problems += self.judge_changes(route, where, changes, actor=actor)
                for method, response in answers:
                    markers = w.markers
                    if method in ("GET?", "POST+"):
                        markers = [m for m in markers if m not in echoed(w)]
                    problems += self.judge(route, own_hall, where, method, response, markers)
        return problems

    def judge_changes(self, route, where: str, changes: dict, *, actor: str) -> list[str]:
        """No business row may change; on an OWN_WRITES page the actor's own rows may, but no
        row (before or after) that names a victim unit, person, filing or the victim region."""
        if not changes:
            return []
        if route.name not in OWN_WRITES:
            return [f"{where}: business rows changed in {sorted(changes)}"]
        touched = sorted(
            table
            for table, pairs in changes.items()
            if any(
                self.world.names_victim(row, own_region=actor in SAME_REGION)
                for pair in pairs
                for row in pair
                if row
            )
        )
        return [f"{where}: victim rows changed in {touched}"] if touched else []

    def judge(self, route, own_hall, where, method, response, markers) -> list[str]:
        status = response.status_code
        if status >= 500:
            return [f"{where} {method}: {status}"]
        out = []
        public = route.name in PUBLIC or route.name in PUBLIC_CONTENT
        if not public and not (own_hall and not route.params) and status not in REFUSED:
            out.append(f"{where} {method}: {status}, expected one of {sorted(REFUSED)}")
        if status != 302:
            found = probe.leaked(probe.body_text(response), markers)
            if found:
                out.append(f"{where} {method}: {status} shows victim data {found}")
        return out

    def check(self, actor: str):
        problems = self.probe_actor(actor)
        assert not problems, "\n".join(problems)

    def test_anonymous(self):
        self.check("anonymous")

    def test_unit_of_the_same_region(self):
        self.check("unit_same_region")

    def test_unit_of_another_region(self):
        self.check("unit_other_region")

    def test_another_person(self):
        self.check("person")

    def test_staff_of_another_region(self):
        self.check("staff_other_region")

    def test_the_owner_reaches_every_object_url(self):
        """The control: the victim's own user reaches each object URL (no 404, no 500), so
        the attackers' 404 is a refusal; UNREACHABLE lists exactly the others."""
        w = self.world
        unreachable = {}
        for route in self.routes:
            if not route.params:
                continue
            user, session = owner(w, route.name, route.namespace)
            client = client_for(user, session)
            for url in urls_of(w, route):
                with probe.rolled_back():
                    status = client.get(url).status_code
                    if status == 405:
                        status = client.post(url, {"action": "submit"}).status_code
                if status == 404 or status >= 500 or status == 403:
                    unreachable.setdefault(route.name, []).append((url, status))
        report = "\n".join(f"{name}: {found}" for name, found in sorted(unreachable.items()))
        assert set(unreachable) == set(UNREACHABLE), report


def test_every_parameter_is_known():
    """A new URL with a parameter the matrix does not know fails here: extend PARAMS (and
    SERIAL_FOR for a serial number) with the victim's value for it."""
    for route in probe.walk():
        for param in route.params:
            assert param in PARAMS, f"{route.name}: unknown parameter {param!r}"
        if "serial_no" in route.params:
            assert route.name in SERIAL_FOR, f"{route.name}: add it to SERIAL_FOR"


def test_public_pages_exist():
    """The allow-list names only existing URLs without parameters; PUBLIC_CONTENT only
    existing URLs with them."""
    routes = {r.name: r for r in probe.walk()}
    for name in PUBLIC:
        assert name in routes and not routes[name].params, name
    for name in PUBLIC_CONTENT:
        assert name in routes and routes[name].params, name
