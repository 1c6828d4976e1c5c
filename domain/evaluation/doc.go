// Package evaluation holds the pure rules by which the evaluation committee
// (commissione di valutazione) of a co-design call (avviso di
// co-progettazione, art. 55 d.lgs. 117/2017, Codice del Terzo settore) scores
// applications (proposte) and by which the ranking (graduatoria) and the
// admission to the co-design table (tavolo di co-progettazione) follow. It
// persists nothing and speaks no HTTP; use cases wire it.
//
// # Criteria (criteri di valutazione)
//
// A call publishes 1 to 30 criteria. Each has a unique code (1-40 characters
// among a-z, 0-9, _ and -), a name, a weight in percent (1-100; the weights
// of a call sum to exactly 100) and a maximum score (1-1000) on which the
// committee scores it. See [ValidateCriteria].
//
// # Conflict of interest (conflitto di interessi, obbligo di astensione)
//
// Before seeing an application, each committee member declares for that
// application either that they have no conflict of interest ([NoConflict])
// or that they abstain ([Abstain]), in the spirit of art. 6-bis l. 241/1990
// and art. 7 d.P.R. 62/2013. A member who belongs to one of the
// application's organisations, lead (capofila) or partner, is recused
// automatically ([Recused]): the caller must then accept only an abstention
// from them. An abstaining member gives no scores.
//
// # Sheets (schede di valutazione)
//
// A member who declared no conflict hands in one sheet per application with
// exactly one score per criterion: an integer from 0 to the criterion's
// maximum, with a rationale (motivazione) of 1-4000 characters, since every
// score of a public procedure must be justified. See [ValidateSheet].
//
// # Consolidation (punteggio complessivo)
//
// An evaluator's score of an application, in points out of 100, is
//
//	Σ_c weight_c × value_c / maxScore_c
//
// and the consolidated score is the arithmetic mean of that over the
// non-abstaining evaluators. [Consolidate] computes it exactly with
// rational arithmetic and rounds once, at the last step, to basis points
// (hundredths of a point, 0..10000) half up:
//
//	ScoreBP = ⌊ 100 × (Σ_e Σ_c weight_c × value_ec / maxScore_c) / n + ½ ⌋
//
// where n is the number of non-abstaining evaluators. Since the sum is exact,
// the result does not depend on the order of the sheets. The per-criterion
// means published alongside, for transparency, are each
//
//	⌊ 10000 × (Σ_e value_ec) / (maxScore_c × n) + ½ ⌋
//
// basis points of that criterion's maximum; they are rounded independently
// and the consolidated score is not computed from them. Consolidation needs
// at least one scoring evaluator ("no_valid_evaluations") and at least the
// quorum of scoring evaluators fixed by the call ("quorum_not_reached").
//
// # Ranking (graduatoria) and admission
//
// [Rank] orders the candidates by consolidated score, highest first. Ties
// are broken deterministically, in this order:
//
//  1. the higher per-criterion mean (as published in the Result) on the
//     criterion with the largest weight, then on the criterion with the next
//     largest weight, and so on; criteria of equal weight are taken in the
//     order in which the call lists them;
//  2. the earlier submission time;
//  3. the smaller application id, comparing the UUIDs' 16 bytes in order.
//
// Rule 3 makes the order total, so positions run 1..n without ties. An
// application is admitted to the co-design table when its consolidated score
// reaches the pass threshold (soglia di ammissione): ScoreBP >= thresholdBP.
// Inadmissible (inammissibili) or withdrawn (ritirate) applications are not
// ranked: the caller leaves them out of the candidates.
package evaluation
