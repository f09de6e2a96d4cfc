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

  TraitExpression = ActiveMembers
                  | AllMembers
                  | OfMembers
                  | DaysSinceCreated
                  | CountDistinct
                  | CountEvents
                  | Aggregate
                  | Occurrence
                  | MostFrequent
                  | DistinctValues
                  | DaysSinceFirstSeen
                  | DaysSinceLast
                  | WeeksWith

  CountDistinct = count distinct EventProperty ByMembers? Scope
  CountEvents = count EventName ByMembers? Scope
  Aggregate = AggregateFunction EventProperty ByMembers? Scope
  AggregateFunction (sum, avg, min or max) = sum | avg | min | max
  Occurrence = FirstOrLast EventProperty ByMembers? Scope
  MostFrequent = most frequent EventProperty ByMembers? Scope
  DistinctValues = distinct EventProperty ByMembers? Scope
  DaysSinceFirstSeen = days since first seen
  DaysSinceLast = days since last EventName ByMembers? Where?
  WeeksWith = weeks with EventName ByMembers? in last wholeNumber WeeksWord Where?

  // Account level (docs/computed-traits.md): aggregates over an account's members. "by members"
  // after the event turns a profile trait into one over the events of all members.
  ActiveMembers = members active Window
  AllMembers = members
  OfMembers = AggregateFunction computed TraitKey of members
  DaysSinceCreated = days since created
  ByMembers = by members
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
  by ("by") = caseInsensitive<"by"> ~identPart
  of ("of") = caseInsensitive<"of"> ~identPart
}
`;

export const traitGrammar = ohm.grammar(SOURCE, { Audience: audienceGrammar });
