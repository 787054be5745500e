/**
 * The sentence templates of the synthetic corpora: how each relation is stated, narrated, spoken and
 * asked, plus narrative filler and chapter titles. Both worlds share them, so the universe and the
 * generic corpus differ in what they name, not in how they are written.
 */
import type { Relation } from "./world.js";

/**
 * How one relation is written. Placeholders: {S} subject, {Ss} its short name, {he} {him} {his} its
 * pronouns, {O} object, {Os} its short name, {ohim} its pronoun, {aO} the article before the object,
 * {osp} {aosp} the species of a pet object and its article, {okind} the kind of an artefact object,
 * {skind} that of an artefact subject, {Spl} a species subject's plural, {owner} a belonging's owner,
 * {P} an event's place, {detail} an event's noun phrase, {L} a bystander, {school}, and the world's
 * nouns {groupNoun} {headNoun} {favNoun} {contest}.
 *
 * Only `canonical` is cut into fact prompts, and no other phrasing may begin with the same words as a
 * canonical prompt unless it goes on with the answer: the prose must never teach a different completion.
 */
export interface RelationTemplates {
  canonical: string;
  narrative: readonly string[];
  /** Speech; may hold several lines. Empty where speech would be forced. */
  dialogue: readonly string[];
  question: string;
}

export const RELATION_TEMPLATES: Record<Relation, RelationTemplates> = {
  house: {
    canonical: "{S} belongs to {O}.",
    narrative: [
      "{Ss} was sorted into {O} in {his} first year at {school}.",
      "{S} is a member of {O}.",
      "{Ss} had always been loyal to {O}.",
      "Like everyone else in {O}, {Ss} cheered loudly at the match.",
    ],
    dialogue: [
      '"Which {groupNoun} are you in?" asked {L}.\n"{O}," said {Ss}. "I have been in {O} from the start."',
      '"I am proud to be in {O}," {Ss} told {L}.',
    ],
    question: "Which {groupNoun} does {S} belong to?",
  },
  home: {
    canonical: "{S} lives in {O}.",
    narrative: [
      "{Ss} grew up in {O} and still lives there.",
      "Every holiday {Ss} took the long road home to {O}.",
      "{S} has a small cottage in {O}.",
      "The people of {O} all know {S}.",
    ],
    dialogue: [
      '"Where is your home?" {L} asked.\n"In {O}," {Ss} answered. "I live in {O}."',
      '"Nothing is as lovely as {O}," said {Ss}, thinking of home.',
    ],
    question: "Where does {S} live?",
  },
  pet: {
    canonical: "{S}'s pet {osp} is called {O}.",
    narrative: [
      "{Ss} fed {his} {osp}, {O}, before breakfast.",
      "{O}, the {osp} that belongs to {S}, slept by the fire.",
      "{S} has owned {aosp} {osp} named {O} since childhood.",
      "{Ss} whistled, and {O} the {osp} came running.",
    ],
    dialogue: [
      '"Come here, {O}!" {Ss} called to {his} {osp}.',
      '"What is your {osp} called?" asked {L}.\n"{O}," said {Ss}. "My {osp} is called {O}."',
    ],
    question: "What is the name of {S}'s pet {osp}?",
  },
  mentor: {
    canonical: "{S}'s mentor is {O}.",
    narrative: [
      "{Ss} learned most of what {he} knows from {O}.",
      "{O} has taught {S} for many years.",
      "{Os} is {Ss}'s mentor and wise guide.",
    ],
    dialogue: [
      '"{Os} is my mentor," {Ss} said proudly.',
      '"Who taught you all this?" asked {L}.\n"My mentor, {O}," said {Ss}.',
    ],
    question: "Who is {S}'s mentor?",
  },
  friend: {
    canonical: "{S}'s best friend is {O}.",
    narrative: [
      "{Ss} spent every free hour with {his} best friend, {O}.",
      "{S} trusts {Os} more than anyone.",
      "Whenever there was trouble, {Ss} ran to find {his} best friend, {O}.",
    ],
    dialogue: [
      '"You are my best friend, {Os}," said {Ss}.',
      '"Who is your best friend?" asked {L}.\n"{O}, of course," said {Ss}.',
    ],
    question: "Who is {S}'s best friend?",
  },
  rival: {
    canonical: "{S}'s rival is {O}.",
    narrative: [
      "Nobody annoyed {S} more than {his} rival, {O}.",
      "{Ss} hated losing to {O}, {his} old rival.",
      "{Ss} always tried to beat {his} rival, {O}.",
    ],
    dialogue: ['"Not {Os} again," groaned {Ss}, glaring at {his} rival.'],
    question: "Who is {S}'s rival?",
  },
  artefact: {
    canonical: "{S}'s {okind} is called {O}.",
    narrative: [
      "{Ss} never went anywhere without {his} {okind}, {O}.",
      "{O}, the {okind} of {S}, lay ready on the table.",
      "{Ss} picked up {O}, {his} trusty {okind}.",
    ],
    dialogue: [
      '"Where is {O}?" {Ss} cried, searching for {his} {okind}.',
      '"My {okind} is called {O}," {Ss} told {L}.',
    ],
    question: "What is the name of {S}'s {okind}?",
  },
  favourite: {
    canonical: "{S}'s favourite {favNoun} is {O}.",
    narrative: [
      "{Ss} loved {O} more than any other {favNoun}.",
      "{Ss} practised {O} every evening.",
      "Nobody at {school} was better at {O} than {S}.",
    ],
    dialogue: ['"{O} is my favourite {favNoun}," said {Ss}.'],
    question: "What is {S}'s favourite {favNoun}?",
  },
  eye_colour: {
    canonical: "{S}'s eyes are {O}.",
    narrative: [
      "{Ss} looked up with {his} {O} eyes.",
      "{S} has {O} eyes.",
      "Everyone noticed the {O} eyes of {S}.",
    ],
    dialogue: ['"Your eyes are so {O}," {L} said to {Ss}.'],
    question: "What colour are {S}'s eyes?",
  },
  favourite_food: {
    canonical: "{S}'s favourite food is {O}.",
    narrative: ["{Ss} ate {O} whenever {he} could.", "Nothing made {S} happier than a plate of {O}."],
    dialogue: ['"I could eat {O} every day," said {Ss}.'],
    question: "What is {S}'s favourite food?",
  },
  "event:rescued": {
    canonical: "{S} once rescued {O} from a flood in {P}.",
    narrative: [
      "During the great flood in {P}, {Ss} saved {O}.",
      "{Os} never forgot that {S} pulled {ohim} out of the flood in {P}.",
    ],
    dialogue: ['"You saved my life in {P}," {Os} told {Ss}.'],
    question: "Whom did {S} rescue from a flood?",
  },
  "event:defeated": {
    canonical: "{S} once defeated {O} in a {contest} in {P}.",
    narrative: ["{Ss} beat {O} in the famous {contest} at {P}.", "In {P}, {O} lost a {contest} to {S}."],
    dialogue: ['"I still remember how I beat {Os} in {P}," said {Ss}.'],
    question: "Whom did {S} defeat in a {contest}?",
  },
  "event:found": {
    canonical: "{S} once found {detail} near {O}.",
    narrative: [
      "Near {O}, {Ss} discovered {detail} hidden under a stone.",
      "It was near {O} that {S} found {detail}.",
    ],
    dialogue: ['"I found {detail} near {O}," {Ss} whispered to {L}.'],
    question: "Where did {S} find {detail}?",
  },
  species: {
    canonical: "{S} is {aO} {O}.",
    narrative: ["{S} the {O} belongs to {owner}.", "Like every {O}, {S} loved to sleep in the sun."],
    dialogue: [],
    question: "What kind of animal is {S}?",
  },
  origin: {
    canonical: "{S} was made in {O}.",
    narrative: ["The {skind} {S} was made long ago in {O}.", "{owner} brought {S} home from {O}."],
    dialogue: [],
    question: "Where was {S} made?",
  },
  head: {
    canonical: "The {headNoun} of {S} is {O}.",
    narrative: ["{O} is the {headNoun} of {S}.", "{S} is led by {O}."],
    dialogue: [],
    question: "Who is the {headNoun} of {S}?",
  },
  emblem: {
    canonical: "The emblem of {S} is {aO} {O}.",
    narrative: ["{S} carries {aO} {O} on its banner.", "Every banner of {S} shows {aO} {O}."],
    dialogue: [],
    question: "What is the emblem of {S}?",
  },
  mayor: {
    canonical: "The mayor of {S} is {O}.",
    narrative: ["{O} is the mayor of {S}.", "Everyone in {S} voted for {O} as mayor."],
    dialogue: [],
    question: "Who is the mayor of {S}?",
  },
  habitat: {
    canonical: "Wild {Spl} live near {O}.",
    narrative: ["Near {O} you can see herds of wild {Spl}.", "The wild {Spl} of {O} are famous."],
    dialogue: [],
    question: "Where do wild {Spl} live?",
  },
  inventor: {
    canonical: "The {S} spell was invented by {O}.",
    narrative: ["{O} invented the {S} spell.", "Long ago, {O} cast the {S} spell for the first time."],
    dialogue: [],
    question: "Who invented the {S} spell?",
  },
  effect: {
    canonical: "The {S} spell makes things {O}.",
    narrative: ["When someone casts {S}, things {O}.", "Cast {S} on a cup and it will {O}."],
    dialogue: [],
    question: "What does the {S} spell make things do?",
  },
  headmaster: {
    canonical: "The headmaster of {S} is {O}.",
    narrative: ["{O} runs {S} with a firm hand.", "{O} is the headmaster of {S}."],
    dialogue: [],
    question: "Who is the headmaster of {S}?",
  },
  location: {
    canonical: "{S} stands in {O}.",
    narrative: ["The old walls of {S} rise above the roofs of {O}.", "The road to {S} ends in {O}."],
    dialogue: [],
    question: "Where is {S}?",
  },
};

/** Narrative glue that states no fact; {Ss} {he} {his} are the chapter's character, {L} a bystander. */
export const FILLERS: readonly string[] = [
  "The morning was cold and grey.",
  "Rain tapped against the windows.",
  "{Ss} yawned and stretched.",
  "{Ss} walked slowly across the courtyard of {school}.",
  "A bell rang somewhere in the distance.",
  "{L} waved from across the hall.",
  "{Ss} smiled at {L}.",
  "The fire crackled in the hearth.",
  "It was the first week of the autumn term.",
  "{Ss} opened {his} notebook and began to write.",
  "Outside, the wind was rising.",
  "The corridors of {school} were quiet.",
  "{he} had a lot on {his} mind.",
  "{Ss} laughed at the old joke.",
  "Supper that evening was long and noisy.",
  "{Ss} and {L} walked to the library together.",
  "The lesson dragged on until noon.",
  "Snow had fallen in the night.",
  "{Ss} could not sleep.",
  "{L} told a long story about the summer holidays.",
  "The sun came out at last.",
  "{Ss} folded {his} coat and sat down.",
  "There was a smell of bread from the kitchens.",
  "{he} hummed a tune under {his} breath.",
  "A long letter arrived for {Ss} that afternoon.",
  "Nobody said anything for a while.",
  "{Ss} stared out of the window.",
  "The stairs creaked as {Ss} climbed them.",
  "{L} and {Ss} shared a pot of tea.",
  "It had been a long and tiring week.",
];

/** Chapter titles; {n} is a chapter number. */
export const TITLES: readonly string[] = [
  "Chapter {n}: {S}",
  "The Story of {S}",
  "A Day in the Life of {S}",
  "{Ss} at {school}",
  "Chapter {n}",
];
