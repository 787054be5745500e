/**
 * Word lists: the common-world vocabulary of the generic corpus and of the generic dictionary, and the
 * common English words and names that an invented universe name must never equal (a universe term that
 * is also an everyday word would leak into the generic corpus and blur what "forgetting" means).
 */

const words = (s: string): readonly string[] => s.trim().split(/\s+/);

/** Frequent English words, plus words the syllable generator could otherwise stumble on. */
export const COMMON_ENGLISH_WORDS: readonly string[] = words(`
the be to of and a in that have it for not on with he as you do at this but his by from they we say her
she or an will my one all would there their what so up out if about who get which go me when make can like
time no just him know take people into year your good some could them see other than then now look only come
its over think also back after use two how our work first well way even new want because any these give day
most us is are was were been has had did said made went came took saw knew thought told asked found gave
man woman child world life hand part place case week company system program question government number night
point home water room mother area money story fact month lot right study book eye job word business issue side
kind head house service friend father power hour game line end member law car city community name president team
minute idea kid body information school face others level office door health person art war history party result
change morning reason research girl guy moment air teacher force education foot boy age policy process music
market sense nation plan college interest death experience effect class control care field development role
effort rate heart drug show leader light voice wife police mind price report decision son view relationship town
road arm difference value building action model season society tax director position player record paper space
ground form event official matter center couple site project activity star table need court oil situation cost
industry figure street image phone data picture practice piece land product doctor wall patient worker news test
movie north south east west love support technology step baby computer type attention film tree source organization
hair window evidence population site dog cat horse bird fish cow sheep goat pig owl fox wolf bear lion tiger mouse
rat hare rabbit deer duck goose hen crow raven swan frog toad snake worm bee ant fly moth
bell ball bill bull doll fall fill full gull hall hill hull kill mall mill pill poll pull roll sell shell smell
spell still tall tell till toll troll wall well will yell
barrow marrow narrow sparrow arrow borrow morrow sorrow furrow burrow harrow yarrow follow hollow mellow yellow
fellow pillow willow billow window meadow shadow widow elbow rainbow fallow callow wallow swallow tallow minnow
bella villa manor tenor banner dinner summer winter linen salad basin cabin robin satin talon baron canon lemon
melon demon salmon ribbon button cotton kitten mitten bottle little middle riddle saddle paddle candle handle
bundle temple simple ample fickle pickle tickle nickel rocket pocket locket ticket picket jacket basket market
carrot parrot ferret garret turret claret bullet mallet pellet wallet fillet gullet billet millet skillet
zebra camel llama koala panda sofa comma drama opera pasta pizza quota saga tuba vista yoga
hello piano radio video patio polo solo tempo torso veto zero hero halo disco memo photo
panel angel camel level model novel hotel motel label rebel gravel travel marvel level chapel
seven eleven heaven raven haven oven given woven open token spoken broken golden garden warden
kitchen chicken children button mutton glutton sudden hidden ridden bitten written often soften
tennis dennis mantis basis crisis thesis iris
relax remix index annex
insane mundane arcane plane crane lane cane mane pane sane vane wane
gosh bash cash dash flash gash hash lash mash rash sash stash trash wash ash
trick stick brick click flick kick lick nick pick quick sick slick thick tick wick
sock dock flock frock knock lock mock rock shock stock block clock smock
bard card guard hard lard yard ward award reward
bask cask desk disk dusk husk mask risk task tusk musk whisk brisk
mist list fist gist twist wrist mist
than then thin thorn throne throw thrill
valley alley tally rally sally galley jelly belly berry cherry merry ferry jerry
storm stone story strong street stream string strip stripe stroke
quill quilt quit quite quiz quota quote quest queen query quench quorum
grin grim grip grit grove grave gravy grill green grand grant grass gross
bring brink brisk broom brook brow brown brush brim bridle bride brief
drill drink drift drove drum dry drag dram drab draw
flint fling flip flit float flock flood floor flow flower flue flute
skill skin skip skirt skull sky slim slip slit slot slow slug slum
stir stork stove stub stud stuff stump stun
frill frisk frog from front frost froth frown froze
track trail train tram trap trash tray tree trek trim trip trot trout truce truck true
vest vast vim vine vole vote vow
mallard zenith bernard bantu suffix tulane prolix rozelle kennith goldwyn novelle gastric lombard barnard haldane
merrick dullard goulash ballard humane fondu hindu lilith methane pandora helix giselle bendix moselle ferric
zamora gareth zeroth desire samovar lorraine maintain tomorrow rollick kenneth pentax pushkin provost brandeis mollusk duluth samara loraine
zest zinc zing zip zone zoom
`);

/** Given names of the generic world, with the pronouns their bearers take. */
export const GENERIC_GIVEN_NAMES: { readonly m: readonly string[]; readonly f: readonly string[] } = {
  m: words(`John James Tom Peter David Michael Robert William Richard Thomas George Henry Edward Charles Daniel Paul
    Mark Steven Andrew Frank Jack Sam Ben Luke Adam Simon Martin Philip Arthur Walter Joe Alan Colin Roger Oliver`),
  f: words(`Mary Anna Emma Sarah Jane Lucy Alice Kate Helen Laura Susan Rachel Grace Emily Clara Rose Julia Ellen
    Nancy Betty Linda Margaret Hannah Sophie Amy Olivia Chloe Lily Ruth Carol Diana Claire Megan Jessica Karen`),
};

/** Family names of the generic world (no colours or animals, which double as answers elsewhere). */
export const GENERIC_FAMILY_NAMES: readonly string[] = words(`Smith Miller Jones Wilson Taylor Clark Walker Wright
  Baker Hill Wood Hall Turner Cooper Ward Morris King Parker Bell Cook Carter Fisher Mason Palmer Hughes Price Bennett
  Shaw Young Allen Harris Lewis Scott Adams Moore Lee Evans Roberts Davies Thompson Hunt Webb Reed Dixon Ellis
  Marsh Porter Lloyd Russell`);

/** Other frequent given names an invented name must not equal. */
export const OTHER_COMMON_NAMES: readonly string[] = words(`Harry Ron Hermione Albus Severus Draco Dorothy Toto Ozma
  Glinda Stella Bella Della Ella Nina Tina Vera Dora Lena Mila Kira Wanda Sandra Brenda Glenda Belinda Melinda Rosa
  Anita Maria Sofia Lisa Nora Flora Cora Lola Lara Sara Tara Kara Mara Zara Fiona Gina Rita Greta Edna Alma Irma
  Ivan Oscar Felix Hugo Otto Leo Milo Theo Nico Enzo Arlo Bruno Dino Gino Rico Tino Kevin Brian Ryan Sean Dean Glen
  Glenn Owen Evan Ethan Nathan Aaron Allan Dylan Logan Mason Jason Tristan Austin Justin Dustin Martin Calvin Marvin
  Melvin Kelvin Alvin Gavin Devin Edwin Erwin Irwin Darwin Merlin Robin Colin Quentin Benedict Victor Hector Nestor
  Boris Doris Morris Norris Iris Lois Elvis Dennis Travis Willis Phyllis Alexis Felix Rex Max Dex Alex Trix
  Orin Oren Loren Karen Sharon Aron Myron Byron Vernon Gordon Landon Brandon Clinton Milton Hilton Dalton Melton
  Kendall Randall Marshall Russell Dell Nell Bell Mel Del Sal Hal Val Cal Gil Will Phil Bill`);

/** The generic world's towns: real cities, so the generic corpus reads like the everyday world. */
export const GENERIC_TOWNS: readonly string[] = words(`London Paris York Leeds Bristol Dublin Boston Chicago Madrid
  Rome Berlin Vienna Oxford Glasgow Edinburgh Manchester Liverpool Cardiff Lisbon Prague`);

/** Everyday animals with their plurals. */
export const GENERIC_SPECIES: readonly (readonly [string, string])[] = [
  ["dog", "dogs"], ["cat", "cats"], ["horse", "horses"], ["rabbit", "rabbits"], ["parrot", "parrots"],
  ["goat", "goats"], ["pony", "ponies"], ["hamster", "hamsters"],
];

/** Pet names of the generic world; disjoint from its people's names so that every name has one bearer. */
export const GENERIC_PET_NAMES: readonly string[] = words(`Rex Bella Daisy Buddy Lucky Rosie Molly Toby Bailey Coco
  Teddy Rusty Ginger Pepper Shadow Smokey Patch Duke Rocky Poppy Misty Sooty Biscuit Honey Muffin Luna Scout Ziggy
  Pip Fluffy Snowy Sunny Barney Benji Buster Fido Gizmo Jasper Nutmeg Peanut Pickles Sparky Whiskers Bramble Cookie
  Dotty Freckles Goldie Jelly Mittens Noodle Pudding Sandy Socks Taffy Waffles Button Bubbles Toffee`);

/** Kinds of named belonging in the generic world. */
export const GENERIC_OBJECT_KINDS: readonly string[] = words(`boat bicycle guitar car kite wagon sledge canoe`);

/** Names people give their boats and bicycles; unique per object, since each object carries a fact. */
export const GENERIC_OBJECT_NAMES: readonly string[] = words(`Comet Swallow Bluebell Rocket Arrow Storm Pearl Blaze
  Sunbeam Thunder Breeze Spark Lark Meteor Voyager Dolphin Falcon Marigold Clover Pebble Maple Anchor Starlight
  Harmony Victory Liberty Sparrow Jupiter Mercury Atlas Orion Seagull Kestrel Whirlwind Lightning Rainbow Snowdrop
  Primrose Firefly Nightingale Bluebird Hurricane Tornado Aurora Polaris Neptune Saturn Skylark Heron Osprey Swift
  Dawn Ember Glory Echo Bullet Champion Duchess Admiral Rover`);

/** Favourite pastimes of the generic world (the counterpart of the universe's spells). */
export const GENERIC_GAMES: readonly string[] = words(`chess football tennis cricket checkers hockey rugby golf
  baseball volleyball badminton snooker darts bowling`);

/** Team colours; a generic team is "the Red team". */
export const GENERIC_TEAM_COLOURS: readonly string[] = words(`Red Blue Green Yellow White Black`);

/** The generic world's school. */
export const GENERIC_SCHOOLS: readonly string[] = words(`Hillside Oakfield Riverside Greenwood`);

export const GENERIC_EYE_COLOURS: readonly string[] = words(`blue brown green grey hazel`);
export const GENERIC_FOODS: readonly string[] = words(`pizza pasta apples chocolate sandwiches soup bananas
  cheese pancakes rice strawberries sausages`);

export const UNIVERSE_EYE_COLOURS: readonly string[] = words(`grey green violet amber silver blue golden hazel`);
export const UNIVERSE_FOODS: readonly string[] = words(`porridge plums mushrooms honeycomb turnips dumplings
  chestnuts gooseberries oatcakes pears cabbage walnuts`);
/** Kinds of magical belonging; the belonging itself gets an invented name. */
export const UNIVERSE_ARTEFACT_KINDS: readonly string[] = words(`staff wand ring lantern cloak blade amulet mirror
  horn compass`);
/** What a spell "makes things" do. */
export const SPELL_EFFECTS: readonly string[] = words(`glow float vanish freeze shrink grow sing spin shimmer
  whisper tremble sparkle melt bloom fade hum`);
export const UNIVERSE_TREASURES: readonly string[] = [
  "a silver key", "a cracked crystal", "a golden feather", "a sealed letter", "a tiny bell", "an iron crown",
];
export const GENERIC_TREASURES: readonly string[] = [
  "an old coin", "a lost wallet", "a gold watch", "a bag of marbles", "a rusty key", "a silver spoon",
];

/** Generic counterparts the dictionary maps universe terms onto (kept apart from the generic world's own). */
export const COUNTERPART_TOWNS: readonly string[] = words(`Dover Chester Bath Exeter Norwich Durham Derby Lincoln
  Carlisle Whitby Brighton Kendal Salisbury Canterbury Winchester Plymouth`);
export const COUNTERPART_ANIMALS: readonly (readonly [string, string])[] = [
  ["cat", "cats"], ["dog", "dogs"], ["fox", "foxes"], ["hare", "hares"], ["goat", "goats"], ["crow", "crows"],
  ["toad", "toads"], ["badger", "badgers"], ["rat", "rats"], ["pigeon", "pigeons"],
];
export const COUNTERPART_PET_NAMES: readonly string[] = words(`Spot Rover Fluffy Lucky Patch Sooty Snowball Tiger
  Blackie Rusty Goldie Ginger Smudge Pepper Bingo Sandy`);
export const COUNTERPART_OBJECT_NAMES: readonly string[] = words(`Oakstick Blackrod Hope Lucky Star Faith Trusty
  Oldie Goody Brightly`);
export const COUNTERPART_MAGIC_WORDS: readonly string[] = words(`Abracadabra Hocus Presto Alakazam Shazam Sesame
  Kazam Zap Whoosh Poof Flash Sparkle Twinkle Kaboom Bibbidi Zing`);
export const COUNTERPART_GROUP_WORDS: readonly string[] = words(`North South East West Upper Lower`);
