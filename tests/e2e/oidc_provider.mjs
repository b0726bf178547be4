// A real OpenID Connect provider on loopback, for the sign-in test: npm's `oidc-provider`
// (panva), with its development log-in pages (any password). Usage:
//   node oidc_provider.mjs PORT REDIRECT_URI
// Every account's ID token holds its email (the log-in name) and, for the police officer,
// the group the deployment's access map names.
import Provider from 'oidc-provider';

const [port, redirectUri] = process.argv.slice(2);
const GROUPS = { 'pc.jones@police.example.uk': ['npt-central'] };

const provider = new Provider(`http://localhost:${port}`, {
  clients: [{
    client_id: 'streetsafe',
    client_secret: 'streetsafe-test-secret',
    redirect_uris: [redirectUri],
    post_logout_redirect_uris: [redirectUri], // where Streamlit's st.logout() returns
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['groups'] },
  conformIdTokenClaims: false, // the claims in the ID token itself, as Streamlit reads them
  pkce: { required: () => false },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['streetsafe-test-cookie-key'] },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: id, email_verified: true, groups: GROUPS[id] ?? [] };
      },
    };
  },
  // consent is the organisation's business, not this test's: grant what is asked
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
});
provider.proxy = false;
provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`oidc-provider listening on http://localhost:${port}`);
});
