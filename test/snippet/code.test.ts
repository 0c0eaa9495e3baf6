// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { codeFrom, isCode, list } from '../../snippet/src/code.ts';

describe('codeFrom: the affiliate code a visitor carries in the URL', () => {
  it.each([
    ['?ref=alice', 'alice'],
    ['?via=bob_2', 'bob_2'],
    ['?utm_source=x&ref=a-b_C9', 'a-b_C9'],
    ['?ref=alice&via=bob', 'alice'],
    ['?via=bob&ref=alice', 'alice'], // params are tried in the configured order, not the URL's
    ['?ref=%3Cscript%3E&via=bob', 'bob'], // an invalid value does not hide a valid one
    ['?ref=', undefined],
    ['?ref=has%20space', undefined],
    [`?ref=${'x'.repeat(201)}`, undefined],
    [`?ref=${'x'.repeat(200)}`, 'x'.repeat(200)],
    ['?ref=caf%C3%A9', undefined], // non-ASCII is not a valid Stripe client_reference_id
    ['', undefined],
  ])('%s -> %s', (search, code) => {
    expect(codeFrom(search, ['ref', 'via'])).toBe(code);
  });

  it('reads only the configured params', () => {
    expect(codeFrom('?ref=alice&aff=carol', ['aff'])).toBe('carol');
    expect(codeFrom('?ref=alice', ['aff'])).toBeUndefined();
  });
});

describe('isCode: what may become a cookie or a client_reference_id', () => {
  it.each(['ref_123', 'A-z_0', 'x'])('accepts %s', (value) => expect(isCode(value)).toBe(true));
  it.each([null, undefined, '', 'a b', 'a;b', 'a=b', 'ref_1\n', 'x'.repeat(201)])('rejects %j', (value) =>
    expect(isCode(value)).toBe(false),
  );
});

it('list: comma settings (data-params, data-domains) split and trimmed', () => {
  expect(list(' ref , via,,aff ')).toEqual(['ref', 'via', 'aff']);
  expect(list('')).toEqual([]);
});
