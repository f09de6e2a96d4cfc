import * as ohm from 'ohm-js';

import { audienceGrammar } from '../../audiences/language/audience-language';

/**
 * The text form of computed trait definitions: a grammar that extends the audience grammar
 * (`Traits <: Audience`), so event names, windows, `where` filters, property paths, strings,
 * numbers, durations and keywords are the audience language's own, with the same error messages.
 * `TraitDefinition` is the start rule. docs/computed-traits.md describes the syntax for people.
 */
const SOURCE = String.raw`
Traits <: Audience {
  TraitDefinition = TraitExpression

  TraitExpression = CountDistinct
                  | CountEvents
                  | Aggregate
                  | Occurrence
                  | MostFrequent
                  | DistinctValues
                  | DaysSinceFirstSeen
                  | DaysSinceLast
                  | WeeksWith

  CountDistinct = count distinct EventProperty Scope
  CountEvents = count EventName Scope
  Aggregate = AggregateFunction EventProperty Scope
  AggregateFunction (sum, avg, min or max) = sum | avg | min | max
  Occurrence = FirstOrLast EventProperty Scope
  MostFrequent = most frequent EventProperty Scope
  DistinctValues = distinct EventProperty Scope
  DaysSinceFirstSeen = days since first seen
  DaysSinceLast = days since last EventName Where?
  WeeksWith = weeks with EventName in last wholeNumber WeeksWord Where?
  WeeksWord (the word "weeks") = weeks | week

  // The window and the filters in either order; printed window first, as audiences print them.
  Scope = Where Window  -- whereFirst
        | Window? Where?  -- windowFirst

  EventProperty (an event name and a property: "Order Completed".revenue) = EventName "." path

  count ("count") = caseInsensitive<"count"> ~identPart
  distinct ("distinct") = caseInsensitive<"distinct"> ~identPart
  sum ("sum") = caseInsensitive<"sum"> ~identPart
  avg ("avg") = caseInsensitive<"avg"> ~identPart
  min ("min") = caseInsensitive<"min"> ~identPart
  max ("max") = caseInsensitive<"max"> ~identPart
  frequent ("frequent") = caseInsensitive<"frequent"> ~identPart
  since ("since") = caseInsensitive<"since"> ~identPart
}
`;

export const traitGrammar = ohm.grammar(SOURCE, { Audience: audienceGrammar });
