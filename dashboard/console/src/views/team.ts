/**
 * `/app/team`: the program's console members and their roles (`GET /api/v1/console/team`); owners and admins invite
 * (`POST`, the one-time link is shown to pass on) and remove members (`DELETE /team/:userId`).
 */
import { ApiError } from '../../../src/api.js';
import { badge, busy, copyField, field, formValues, h, loading, showFormError, table } from '../../../src/dom.js';
import { formatDate } from '../../../src/format.js';
import type { ConsoleView } from '../context.js';
import type { Member } from '../types.js';
import { act, selectField } from './shared.js';

export const teamView: ConsoleView = async (ctx, root) => {
  const slot = h('div', { 'aria-live': 'polite' });
  const listArea = h('div', null, loading());
  root.replaceChildren(h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Team')), slot, listArea);
  const mayManage = ctx.program?.role === 'owner' || ctx.program?.role === 'admin';

  const draw = async () => {
    const { members } = await ctx.api.get<{ members: Member[] }>('/console/team');
    listArea.replaceChildren(
      table(
        'Members',
        [{ label: 'E-mail' }, { label: 'Role' }, { label: 'Status' }, { label: 'Since' }, { label: 'Actions' }],
        members.map((m) => {
          const remove: HTMLButtonElement | null =
            mayManage && m.userId !== ctx.me?.user.id
              ? h(
                  'button',
                  {
                    type: 'button',
                    class: 'btn btn-secondary btn-small',
                    'aria-label': `Remove ${m.email}`,
                    onclick: () =>
                      act(remove!, slot, `${m.email} removed`, () => ctx.api.delete(`/console/team/${m.userId}`), draw),
                  },
                  'Remove',
                )
              : null;
          return [m.email, m.role, badge(m.active ? 'approved' : 'pending'), formatDate(m.joinedAt), remove];
        }),
      ),
    );
  };

  if (mayManage) {
    let role = 'viewer';
    const form = h(
      'form',
      { class: 'card stack', novalidate: true, 'aria-labelledby': 'invite-h' },
      h('h2', { id: 'invite-h' }, 'Invite a member'),
      h(
        'div',
        { class: 'grid-2' },
        field({ label: 'E-mail', name: 'email', type: 'email', required: true }),
        selectField(
          'Role',
          [
            ['viewer', 'Viewer (reads everything, changes nothing)'],
            ['admin', 'Admin'],
            ...(ctx.program?.role === 'owner' ? ([['owner', 'Owner']] as [string, string][]) : []),
          ],
          role,
          (v) => {
            role = v;
          },
        ),
      ),
      h('div', { class: 'form-status', 'aria-live': 'polite' }),
      h('button', { type: 'submit', class: 'btn btn-primary' }, 'Invite'),
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        const res = await busy(form, 'Inviting…', () =>
          ctx.api.post<{ inviteUrl: string | null; member: Member }>('/console/team', {
            email: formValues(form).email,
            role,
          }),
        );
        form.reset();
        await draw();
        slot.replaceChildren(
          res.inviteUrl
            ? copyField(`One-time invitation link for ${res.member.email}`, res.inviteUrl)
            : h('p', { role: 'status' }, `${res.member.email} now has the ${res.member.role} role.`),
        );
      } catch (err) {
        showFormError(form, err instanceof ApiError ? err.message : 'Could not invite');
      }
    });
    root.append(form);
  }
  await draw();
};
