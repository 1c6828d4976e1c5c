// Package payment holds the pure rules of outcome payments (pay-by-result) in
// an outcome-based agreement, in the spirit of the INDIGO impact-bond data
// standard: a payment [Rule] ties an indicator to a trigger, a verified
// [Measurement] of that indicator earns an amount under the rule, and the
// resulting payment moves through a small lifecycle ([Status]). It persists
// nothing and speaks no HTTP; use cases wire it. Money is integer euro cents
// (int64); indicator values are integer thousandths of the indicator's unit
// ([Milli]). Nothing here uses floating point.
//
// # API
//
//	func (r *Rule) Validate() error
//	func Compute(r Rule, m Measurement, l Ledger) (Due, error)
//	func Split(totalCents int64, percents []int) ([]int64, error)
//	func CanTransition(from, to Status) bool
//	func Transition(from, to Status, note string) error
//
// # Triggers and what a value earns
//
// Each trigger defines the total E(m) that the rule has earned, over its
// whole life, once a measurement m is verified. E never exceeds the cap:
// E(m) = min(raw(m), CapCents) with
//
//   - [PerUnit]: units beyond the baseline, in thousandths, are
//     u = value − baseline for [Increase] and u = baseline − value for
//     [Decrease] (computed without overflow; u ≤ 0 earns nothing), and
//
//     raw = ⌊ u × UnitPriceCents / 1000 ⌋
//
//     rounded DOWN, computed exactly in 128 bits, so public money is never
//     overpaid: a fraction of a cent is never paid, and a fraction of a unit
//     is paid pro rata, rounded down to the cent.
//
//   - [Threshold]: raw = AmountCents when the value reaches ThresholdMilli
//     (value ≥ threshold for [Increase], value ≤ threshold for [Decrease]),
//     else 0.
//
//   - [Milestone]: raw = AmountCents when m.Milestone is true (the milestone
//     was verified achieved), else 0. The value is not used.
//
// # Cumulative rule: what a period is due
//
// The [Ledger] carries what this rule has already computed (paid or not,
// excluding withheld and cancelled payments), the periods it has computed,
// and what is left of the agreement's outcome budget. The amount due for a
// new period is the rule's total entitlement at this period's verified value
// minus what was already computed, floored at zero, and limited by the
// agreement's remaining budget:
//
//	Cents = min( max(0, E(m) − PaidOrComputedCents), AgreementRemainingCents )
//
// So per_unit pays for the improvement beyond the baseline once: a first
// period pays for every unit beyond the baseline; a later period pays only
// for further improvement beyond what was already computed; a repeated or a
// worse period pays nothing, and nothing is ever clawed back (never
// negative). A threshold or milestone pays AmountCents once, the first time
// it is reached, and nothing afterwards. Because Cents ≤ E(m) −
// PaidOrComputedCents ≤ CapCents − PaidOrComputedCents, the cents computed
// for a rule over any sequence of periods never sum to more than the cap,
// nor to more than the agreement budget the sequence started from.
//
// The ledger replaces a separate "best value so far" input: what was already
// computed is the state. If a payment is later withheld, the caller leaves it
// out of PaidOrComputedCents, and a later period can earn it again only
// through its own verified value; a withheld value never counts as
// reached. If an earlier period was cut by the agreement budget, a later
// period whose value earns at least as much pays the shortfall, budget
// permitting.
//
// # Order of checks in Compute
//
//  1. The rule, the measurement and the ledger are validated (KindInvalid,
//     naming the field).
//  2. A period already in Ledger.PeriodsPaid yields Due{Cents: 0, Reason:
//     "already computed"}: repeating a verification is a no-op.
//  3. A rule with EvidenceRequired and a measurement without evidence fail
//     with "evidence_required" (KindPrecondition).
//  4. The amount is computed as above. Due.Capped reports that the rule's cap
//     reduced the amount (without the cap the period would earn more);
//     Due.BudgetLimited reports that the agreement budget reduced it.
//
// Compute is deterministic: the same inputs always give the same Due.
//
// # Instalments (Split)
//
// [Split] divides a total into instalments by whole percentages (for example
// 30/30/40: advance, milestone, final), each 1..100 and summing to 100. It
// uses the largest-remainder method: each instalment first gets
// ⌊ total × percent / 100 ⌋; the cents left over (fewer than the number of
// instalments) go one each to the instalments with the largest discarded
// remainder, ties to the earliest instalment. The parts always sum exactly
// to the total, each is within one cent of its exact share, and a larger
// percentage never gets less than a smaller one (equal percentages differ
// by at most one cent, the earlier getting more). Plain "leftover to the
// earliest" is not used because it can give 40% more than 60% of a small
// total.
//
// # Lifecycle
//
//	computed → approved   (by a formal act: the note names the act)
//	approved → paid
//	computed | approved → withheld   (the note gives the reason)
//	computed | approved → disputed   (the note gives the reason)
//	disputed → computed | withheld
//
// paid and withheld are final. See [CanTransition] and [Transition].
package payment
