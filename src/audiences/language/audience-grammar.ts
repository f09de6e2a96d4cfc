import * as ohm from 'ohm-js';

/**
 * The text form of audience definitions as an Ohm grammar (PEG). GRAMMAR.md describes it for
 * people; audience-parser.ts turns a match into the AST. `Definition` is the start rule of a whole
 * definition; `Filters` and `PropertyPath` parse those parts on their own. Capitalised rules skip whitespace between
 * their parts, lower-case (lexical) rules do not. A rule's description in parentheses is what error
 * messages say was expected.
 */
const SOURCE = String.raw`
Audience {
  Definition = Disjunction

  // Start rules for parts used on their own by other modules (see audience-language.ts): the
  // property filters of a funnel step, with or without parentheses, and a property path.
  Filters = "(" FilterList ")"  -- paren
          | FilterList  -- bare
  PropertyPath = path

  Disjunction = Conjunction (or Conjunction)*
  Conjunction = Unary (and Unary)*
  Unary = not Unary  -- not
        | Primary

  Primary = "(" Disjunction ")"  -- paren
          | Sequence
          | Performed
          | NeverPerformed
          | FirstLastPerformed
          | Seen
          | Inactive
          | Active
          | Trait
          | Computed
          | InAudience
          | Members
          | MemberCount
          | Created
          | MisplacedFilter

  Performed = performed EventName Count? Window? Where?
  NeverPerformed = never performed EventName Window? Where?
  FirstLastPerformed = FirstOrLast performed EventName Window Where?
  Seen = FirstOrLast seen Window
  FirstOrLast = first | last
  Active = active Window
  Inactive = inactive Duration
  Trait = trait Filter
  Computed = computed TraitKey Test
  TraitKey (a computed trait key) = pathSegment
  InAudience = in audience AudienceKey

  // Account level only (an account audience): its members and its creation.
  Members = Quantifier Unary
  Quantifier = anyWord memberWord  -- any
             | noWord memberWord  -- no
             | allWord memberWord  -- all
  memberWord (the word "member") = members | member
  MemberCount = members CountBound
  CountBound = at least wholeNumber  -- atLeast
             | at most wholeNumber  -- atMost
             | exactly wholeNumber  -- exactly
  Created = created Window

  // Not a condition: a filter where a condition should be. Matched only to explain the mistake.
  MisplacedFilter = ~conditionKeyword Filter

  Sequence = Step ThenStep+ ConversionWindow?
  Step = performed EventName Where?
  ThenStep = then not performed EventName Where?  -- negated
           | then Step  -- positive
  ConversionWindow = within Duration

  Count = at least wholeNumber TimesWord  -- atLeast
        | at most wholeNumber TimesWord  -- atMost
        | exactly wholeNumber TimesWord  -- exactly
  TimesWord (the word "times") = times | time

  Window = within Duration  -- within
         | before Duration ago  -- before
         | between DateValue and DateValue  -- between

  Duration = wholeNumber Unit
  Unit (a unit: minutes, hours, days or weeks) = minutes | minute | hours | hour | days | day | weeks | week

  Where = where "(" FilterList ")"  -- many
        | where Filter  -- one
  FilterList = Filter (and Filter)*

  Filter = path Test
  Test = "!=" Literal  -- neq
       | "<=" OrderedLiteral  -- lte
       | ">=" OrderedLiteral  -- gte
       | "=" Literal  -- eq
       | "<" OrderedLiteral  -- lt
       | ">" OrderedLiteral  -- gt
       | contains string  -- contains
       | starts with string  -- startsWith
       | exists  -- exists
       | in "[" ListOf<Literal, ","> "]"  -- in
       | within Duration  -- within
       | before Duration ago  -- before

  Literal (a value: a "string", a number, true, false or a date) = dateValue | number | string | true | false
  OrderedLiteral (a "string", a number or a date) = dateValue | number | string
  DateValue = dateValue
  EventName (an event name in double quotes) = string
  AudienceKey (an audience key in double quotes) = string

  path (a property name) = pathSegment ("." pathSegment)*
  pathSegment = ident | string
  ident = identStart identPart*
  identStart = letter | "_" | "$"
  identPart = alnum | "_" | "$"

  string (a string in double quotes) = "\"" stringChar* "\""
  stringChar = "\\" escape  -- escaped
             | ~("\"" | "\\") any  -- plain
  escape (an escape: \", \\, \n, \t or \r) = "\"" | "\\" | "n" | "t" | "r"

  number (a number) = "-"? digit+ ("." digit+)? (("e" | "E") ("+" | "-")? digit+)?
  wholeNumber (a whole number) = digit+
  dateValue (a date such as 2026-01-31) = digit digit digit digit "-" digit digit "-" digit digit timeOfDay?
  timeOfDay = "T" digit digit ":" digit digit (":" digit digit ("." digit digit? digit?)?)? zone?
  zone = "Z"  -- utc
       | ("+" | "-") digit digit ":" digit digit  -- offset

  conditionKeyword = performed | never | not | first | last | active | inactive | trait | computed | in | anyWord
                   | noWord | allWord | members | created

  // Keywords are case-insensitive whole words: "in" does not match the start of "inactive".
  performed ("performed") = caseInsensitive<"performed"> ~identPart
  never ("never") = caseInsensitive<"never"> ~identPart
  not ("not") = caseInsensitive<"not"> ~identPart
  and ("and") = caseInsensitive<"and"> ~identPart
  or ("or") = caseInsensitive<"or"> ~identPart
  then ("then") = caseInsensitive<"then"> ~identPart
  at ("at") = caseInsensitive<"at"> ~identPart
  least ("least") = caseInsensitive<"least"> ~identPart
  most ("most") = caseInsensitive<"most"> ~identPart
  exactly ("exactly") = caseInsensitive<"exactly"> ~identPart
  times ("times") = caseInsensitive<"times"> ~identPart
  time ("time") = caseInsensitive<"time"> ~identPart
  within ("within") = caseInsensitive<"within"> ~identPart
  before ("before") = caseInsensitive<"before"> ~identPart
  ago ("ago") = caseInsensitive<"ago"> ~identPart
  between ("between") = caseInsensitive<"between"> ~identPart
  where ("where") = caseInsensitive<"where"> ~identPart
  first ("first") = caseInsensitive<"first"> ~identPart
  last ("last") = caseInsensitive<"last"> ~identPart
  seen ("seen") = caseInsensitive<"seen"> ~identPart
  active ("active") = caseInsensitive<"active"> ~identPart
  inactive ("inactive") = caseInsensitive<"inactive"> ~identPart
  trait ("trait") = caseInsensitive<"trait"> ~identPart
  computed ("computed") = caseInsensitive<"computed"> ~identPart
  in ("in") = caseInsensitive<"in"> ~identPart
  audience ("audience") = caseInsensitive<"audience"> ~identPart
  anyWord ("any") = caseInsensitive<"any"> ~identPart
  noWord ("no") = caseInsensitive<"no"> ~identPart
  allWord ("all") = caseInsensitive<"all"> ~identPart
  member ("member") = caseInsensitive<"member"> ~identPart
  members ("members") = caseInsensitive<"members"> ~identPart
  created ("created") = caseInsensitive<"created"> ~identPart
  contains ("contains") = caseInsensitive<"contains"> ~identPart
  starts ("starts with") = caseInsensitive<"starts"> ~identPart
  with ("with") = caseInsensitive<"with"> ~identPart
  exists ("exists") = caseInsensitive<"exists"> ~identPart
  true ("true") = caseInsensitive<"true"> ~identPart
  false ("false") = caseInsensitive<"false"> ~identPart
  minutes ("minutes") = caseInsensitive<"minutes"> ~identPart
  minute ("minute") = caseInsensitive<"minute"> ~identPart
  hours ("hours") = caseInsensitive<"hours"> ~identPart
  hour ("hour") = caseInsensitive<"hour"> ~identPart
  days ("days") = caseInsensitive<"days"> ~identPart
  day ("day") = caseInsensitive<"day"> ~identPart
  weeks ("weeks") = caseInsensitive<"weeks"> ~identPart
  week ("week") = caseInsensitive<"week"> ~identPart
}
`;

export const audienceGrammar = ohm.grammar(SOURCE);

/** The grammar's source, for grammars that extend it (`Traits <: Audience`, see src/traits/language). */
export const AUDIENCE_GRAMMAR_SOURCE = SOURCE;
