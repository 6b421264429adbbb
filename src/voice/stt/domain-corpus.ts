/**
 * What callers of a customer-service line say, for the embedded recogniser's domain language
 * model (stt/domain-lm.ts). The agent's own phrases (tool examples, greeting, transfer targets) are
 * added to these; numbers and letters are there so order ids and account numbers can be dictated.
 */
const PHRASES = `
hello
hi
hi there
hello can you help me
can you help me please
i need some help
i have a question
i have a question about my order
where is my order
where is my package
what is the status of my order
has my order shipped
has my package shipped yet
when will my order arrive
when will it be delivered
track my order
i want to track my order
my order number is
the order number is
my account number is
it is
it's
i want to cancel my order
i want a refund
i want to return something
i want to change my address
my package is late
my package never arrived
it arrived damaged
can i talk to a person
can i speak to someone
transfer me to a human
i want to speak to a manager
put me through to billing
billing please
sales please
support please
i'll type it in
let me enter it
let me type my account number
i don't know
i'm not sure
wait
hold on
one moment
sorry
sorry what
can you repeat that
say that again
what did you say
stop
no wait
actually
yes
yes please
yeah
yep
sure
okay
ok
all right
right
uh huh
mm hmm
correct
that's right
that's correct
no
no thanks
no thank you
nope
not really
thank you
thanks
thanks a lot
that's all
that's all thanks
that will be all
nothing else
goodbye
bye
bye bye
have a nice day
my name is
my phone number is
my email is
it's for order
the first one
the second one
today
tomorrow
yesterday
this morning
last week
`;

const NUMBERS =
  'zero oh one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand';

/** The built-in phrases, one per line, plus dictated numbers ("my account number is four two one seven"). */
export function builtinPhrases(): string[] {
  const lines = PHRASES.split('\n').map((l) => l.trim()).filter(Boolean);
  const digits = NUMBERS.split(' ').slice(0, 11);
  const digit = (n: number) => digits[n % 11]!;
  const runs: string[] = [];
  // A deterministic spread, so every digit follows every other one; runs as long as ids and phone numbers.
  for (let i = 0; i < 11; i++) runs.push(Array.from({ length: 3 + (i % 5) }, (_, k) => digit(i * 7 + k * 3 + 1)).join(' '));
  // Spelled letters are short and match almost any noise: only the agent's own ids bring them in.
  const cues = ['my order number is', 'the number is', 'my account number is', 'it is'];
  const dictated = runs.slice(0, 4).map((run, i) => `${cues[i % cues.length]} ${run}`);
  return [...lines, NUMBERS, ...runs, ...dictated];
}
