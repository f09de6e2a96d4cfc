import {
  APP_ACTIONS,
  APP_PAGES,
  type Channel,
  CHANNELS,
  type Device,
  DEVICES,
  EVENT,
  FREE_PLAN,
  LANDING_PAGES,
  MARKETING_PAGES,
  type Page,
  PAID_PLANS,
  type Product,
  PRODUCT_POPULARITY,
  PROJECT_TEMPLATES,
  SIGNUP_METHODS,
  TUTORIALS,
} from './catalog';
import type { Random } from './random';
import type { EventType } from './rows';

/**
 * What one person does, in order, without clocks: an endless sequence of steps grouped into
 * sessions. The journey takes exactly as many steps as the person's event budget, so a small
 * budget cuts the story short — which is itself a drop-off, just like real life.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface Session {
  readonly index: number;
  readonly channel: Channel;
  readonly device: Device;
}

export interface Step {
  readonly session: Session;
  readonly type: EventType;
  readonly name: string | null;
  readonly properties: JsonObject;
  /** Sent with the user id: everything from the first identify call on. */
  readonly identified: boolean;
  /** identify calls only. */
  readonly traits?: JsonObject;
  /** The sign-up identify stamps `created_at` with its own timestamp, known only once timed. */
  readonly stampsCreatedAt?: boolean;
}

export interface Persona {
  readonly signsUp: boolean;
  readonly traits: JsonObject;
  readonly device: Device;
  readonly acquisition: Channel;
  readonly currency: string;
  /** Chance that any one action in a session is a shopping trip. */
  readonly shopping: number;
  /** Steps that may come before signing up, so a small budget still reaches the sign-up. */
  readonly browseBeforeSignup: number;
}

const SITE = 'https://acme.example';
const DIRECT: Channel = { campaign: null, referrer: null };

const round2 = (value: number): number => Math.round(value * 100) / 100;

function pageStep(session: Session, page: Page, referrer: string, identified: boolean): Step {
  const properties: JsonObject = { path: page.path, referrer, search: '', title: page.title, url: SITE + page.path };
  return { session, type: 'page', name: page.name, properties, identified };
}

function track(session: Session, name: string, properties: JsonObject, identified: boolean): Step {
  return { session, type: 'track', name, properties, identified };
}

function productProperties(product: Product, currency: string): JsonObject {
  return {
    product_id: product.id,
    sku: product.sku,
    name: product.name,
    category: product.category,
    price: product.price,
    currency,
  };
}

/** Product Viewed → Product Added → Checkout Started → Order Completed, each reached by a share of the last. */
function* shoppingTrip(random: Random, session: Session, persona: Persona, identified: boolean): Generator<Step> {
  const { currency } = persona;
  const viewed: Product[] = [];
  const views = 1 + random.geometric(0.55);
  for (let i = 0; i < views; i += 1) {
    const product = PRODUCT_POPULARITY.pick(random);
    viewed.push(product);
    yield track(session, EVENT.productViewed, productProperties(product, currency), identified);
  }
  if (!random.chance(0.45)) return;

  const cartId = `cart_${random.hex(6)}`;
  const cart: { product: Product; quantity: number }[] = [];
  const adds = random.chance(0.25) ? 2 : 1;
  for (let i = 0; i < adds; i += 1) {
    const product = random.pick(viewed);
    const quantity = random.chance(0.8) ? 1 : random.int(2, 4);
    cart.push({ product, quantity });
    const properties = { ...productProperties(product, currency), quantity, cart_id: cartId };
    yield track(session, EVENT.productAdded, properties, identified);
  }
  if (!random.chance(0.6)) return;

  const subtotal = round2(cart.reduce((sum, item) => sum + item.product.price * item.quantity, 0));
  const products: JsonValue[] = cart.map(({ product, quantity }) => ({
    product_id: product.id,
    price: product.price,
    quantity,
  }));
  const orderId = `ord_${random.hex(8)}`;
  yield track(
    session,
    EVENT.checkoutStarted,
    { order_id: orderId, value: subtotal, revenue: subtotal, currency, products },
    identified,
  );
  if (!random.chance(identified ? 0.7 : 0.45)) return;

  const coupon = random.chance(0.15) ? 'SPRING15' : null;
  const discount = coupon === null ? 0 : round2(subtotal * 0.15);
  const shipping = subtotal >= 75 ? 0 : 7.5;
  const tax = round2((subtotal - discount) * 0.08);
  const total = round2(subtotal - discount + shipping + tax);
  yield track(
    session,
    EVENT.orderCompleted,
    {
      order_id: orderId,
      total,
      revenue: round2(subtotal - discount),
      shipping,
      tax,
      discount,
      coupon,
      currency,
      products,
    },
    identified,
  );
}

interface Milestones {
  tutorialSession: number;
  projectSession: number;
  subscriptionSession: number;
}

const NEVER = Number.POSITIVE_INFINITY;

/** Sign-up funnel: about 55% view a tutorial, most of those create a project, some of those pay. */
function planMilestones(random: Random, signsUp: boolean): Milestones {
  if (!signsUp) return { tutorialSession: NEVER, projectSession: NEVER, subscriptionSession: NEVER };
  const viewsTutorial = random.chance(0.55);
  const tutorialSession = viewsTutorial ? (random.chance(0.6) ? 0 : 1 + random.geometric(0.5)) : NEVER;
  const createsProject = random.chance(viewsTutorial ? 0.72 : 0.3);
  const projectSession = createsProject
    ? (viewsTutorial ? tutorialSession : random.geometric(0.5)) + random.geometric(0.6)
    : NEVER;
  const subscribes = random.chance(createsProject ? 0.38 : 0.04);
  const subscriptionSession = subscribes
    ? (createsProject ? projectSession : random.geometric(0.4)) + 1 + random.geometric(0.35)
    : NEVER;
  return { tutorialSession, projectSession, subscriptionSession };
}

export function* story(random: Random, persona: Persona): Generator<Step> {
  const milestones = planMilestones(random, persona.signsUp);
  let session: Session = { index: 0, channel: persona.acquisition, device: persona.device };
  let identified = false;
  let plan = FREE_PLAN;
  let lastUrl = persona.acquisition.referrer ?? '';

  const page = (table: { pick(r: Random): Page }): Step => {
    const chosen = table.pick(random);
    const step = pageStep(session, chosen, lastUrl, identified);
    lastUrl = SITE + chosen.path;
    return step;
  };

  yield page(LANDING_PAGES);

  if (persona.signsUp) {
    let room = persona.browseBeforeSignup;
    const visits = Math.min(3, random.geometric(0.5));
    for (let i = 0; i < visits && room > 0; i += 1) {
      if (random.chance(0.3)) {
        for (const step of shoppingTrip(random, session, persona, identified)) {
          if (room === 0) break;
          room -= 1;
          yield step;
        }
      } else {
        room -= 1;
        yield page(MARKETING_PAGES);
      }
    }
    identified = true;
    yield {
      session,
      type: 'identify',
      name: null,
      properties: {},
      identified,
      traits: persona.traits,
      stampsCreatedAt: true,
    };
    yield track(session, EVENT.signedUp, { method: SIGNUP_METHODS.pick(random), plan: FREE_PLAN }, identified);
  }

  let tutorialsSeen = 0;
  let projectsCreated = 0;
  for (;;) {
    const actions = 1 + random.geometric(0.3);
    for (let action = 0; action < actions; action += 1) {
      if (session.index >= milestones.tutorialSession && tutorialsSeen < 2) {
        const tutorial = TUTORIALS[tutorialsSeen] ?? 'getting-started';
        tutorialsSeen += 1;
        if (tutorialsSeen === 2 || random.chance(0.5)) milestones.tutorialSession = NEVER;
        yield track(session, EVENT.tutorialViewed, { tutorial, completed: random.chance(0.6) }, identified);
      } else if (session.index >= milestones.projectSession) {
        milestones.projectSession = NEVER;
        projectsCreated += 1;
        const properties = { project_id: `prj_${random.hex(6)}`, template: random.pick(PROJECT_TEMPLATES) };
        yield track(session, EVENT.projectCreated, properties, identified);
      } else if (session.index >= milestones.subscriptionSession) {
        milestones.subscriptionSession = NEVER;
        const paid = PAID_PLANS.pick(random);
        plan = paid.name;
        const properties = { plan, billing_interval: paid.interval, value: paid.price, currency: persona.currency };
        yield track(session, EVENT.subscriptionStarted, properties, identified);
        yield { session, type: 'identify', name: null, properties: {}, identified, traits: { plan } };
      } else if (random.chance(persona.shopping)) {
        yield* shoppingTrip(random, session, persona, identified);
      } else if (persona.signsUp && random.chance(0.6)) {
        const name = APP_ACTIONS.pick(random);
        // Power users keep making projects now and then, long after the first one.
        if (projectsCreated > 0 && random.chance(0.03)) {
          yield track(
            session,
            EVENT.projectCreated,
            { project_id: `prj_${random.hex(6)}`, template: 'blank' },
            identified,
          );
        } else {
          yield track(session, name, {}, identified);
        }
      } else {
        yield page(persona.signsUp ? APP_PAGES : MARKETING_PAGES);
      }
    }

    // Returning visits mostly come direct; some through another campaign.
    const channel = random.chance(0.65) ? DIRECT : CHANNELS.pick(random);
    const device = random.chance(0.85) ? persona.device : DEVICES.pick(random);
    session = { index: session.index + 1, channel, device };
    lastUrl = channel.referrer ?? '';
    yield page(persona.signsUp ? APP_PAGES : MARKETING_PAGES);
    if (identified && random.chance(0.1)) {
      yield { session, type: 'identify', name: null, properties: {}, identified, traits: { plan } };
    }
  }
}
