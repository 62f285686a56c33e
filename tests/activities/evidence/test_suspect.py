"""The suspect change, ranked without any server; the request's scope and the alert's rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from activities.evidence.request import EvidenceRequest, alert_expression, scope_of
from activities.evidence.suspect import rank, relation, top_suspect
from remediator.models.evidence import Change
from remediator.models.mitigation import MitigationStep

ONSET = datetime(2026, 12, 1, 10, 5, tzinfo=UTC)


def change(minutes_before: float, target: str, rel: int, ours: bool = False,
           summary: str = "") -> Change:
    return Change(at=ONSET - timedelta(minutes=minutes_before), kind="rollout", target=target,
                  summary=summary or target, relation=rel, by_remediator=ours)


def test_the_related_change_closest_to_onset_is_the_suspect() -> None:
    bad = change(3, "kubernetes:production/checkout", 2,
                 summary="production/checkout rolled out checkout:broken-1.5.0")
    changes = [
        change(1, "kubernetes:production/search", 0),       # closer, but unrelated
        change(60, "kubernetes:production/checkout", 2),    # related, but earlier
        change(2, "flag:checkout-new-ui@production", 1),    # related less closely
        change(0.5, "kubernetes:production/checkout", 2, ours=True),  # our own action
        bad,
    ]
    assert top_suspect(changes, ONSET) == bad
    assert bad.describe(ONSET) == ("production/checkout rolled out checkout:broken-1.5.0 at "
                                   "10:02 UTC, 3 min before onset")
    order = rank(changes, ONSET)
    # anyone else's change before ours at the same relation; unrelated ones last
    assert order[0] == bad and order[2].by_remediator and order[-1].relation == 0


def test_changes_after_onset_or_older_than_a_day_are_never_suspects() -> None:
    later = change(-10, "kubernetes:production/checkout", 2)
    old = change(25 * 60, "kubernetes:production/checkout", 2)
    assert top_suspect([later, old], ONSET) is None
    assert rank([later, old], ONSET) == [later]  # listed after onset, not suspected
    skewed = change(-0.5, "kubernetes:production/checkout", 2)  # clocks differ a little
    assert top_suspect([skewed], ONSET) == skewed


def test_relation_prefers_own_targets_then_namespaces_and_services() -> None:
    targets = {"kubernetes:production/checkout"}
    assert relation("kubernetes:production/checkout", targets, {"production"}) == 2
    assert relation("kubernetes:production/cart", targets, {"production"}) == 1
    assert relation("kubernetes:staging/cart", targets, {"production"}) == 0


def test_the_scope_comes_from_labels_steps_checks_and_the_alert_rule() -> None:
    url = ("http://prometheus:9090/graph?g0.expr=sum%28rate%28http_errors_total%7Bjob%3D%22"
           "checkout%22%7D%5B5m%5D%29%29+%3E+1&g0.tab=1")
    assert alert_expression(url) == 'sum(rate(http_errors_total{job="checkout"}[5m])) > 1'
    assert alert_expression("http://x/graph") is None
    req = EvidenceRequest(
        incident_id="INC-1", occurrence="INC-1@r", service="checkout", onset=ONSET,
        labels={"namespace": "production", "deployment": "checkout"}, generator_urls=[url],
        verify_queries=["sum(up)"], steps=[
            MitigationStep(id="a", action="feature_flag.set",
                           params={"flag": "checkout-new-ui", "value": "off"}),
            MitigationStep(id="b", action="postgres.cancel_queries",
                           params={"database": "shop", "min_duration_seconds": 1}),
            MitigationStep(id="c", action="aws.lambda.rollback_alias",
                           params={"function": "fn", "alias": "live", "version": "1"}),
            MitigationStep(id="d", action="aws.asg.set_capacity",
                           params={"group": "web", "desired": 3})])
    scope = scope_of(req)
    assert scope.deployments == {("production", "checkout")}
    assert scope.flags == {("redis", "production", "checkout-new-ui")}
    assert scope.databases == {"shop"} and scope.groups == {"web"}
    assert scope.functions == {("fn", "live")}
    assert scope.queries == ["sum(up)", 'sum(rate(http_errors_total{job="checkout"}[5m])) > 1']
    assert {"kubernetes:production/checkout", "flag:checkout-new-ui@default",
            "lambda:fn:live", "asg:web"} <= scope.targets
