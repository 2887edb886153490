/**
 * Offline push (docs/rest.md, "Push"): REST calls made with the user's token.
 * Client.setBackground tells the server the app went to the background.
 */
export class Push {
    constructor(c) {
        this.c = c;
    }
    user() {
        if (!this.c.user)
            throw new Error('parley: push calls need a connected client (the user is not known yet)');
        return encodeURIComponent(this.c.user);
    }
    /** Binds this device's push token (FCM, APNs, …) to the app's notifier; returns the user's bindings. */
    async bindDevice(deviceId, notifierName, deviceToken) {
        const r = await this.c.rest('PUT', `/users/${this.user()}/push/binding`, {
            device_id: deviceId, notifier_name: notifierName, device_token: deviceToken,
        });
        return r?.entities ?? [];
    }
    /** Removes a device's binding (an empty token unbinds). */
    async unbindDevice(deviceId, notifierName) {
        return this.bindDevice(deviceId, notifierName, '');
    }
    async bindings() {
        return (await this.c.rest('GET', `/users/${this.user()}/push/binding`))?.entities ?? [];
    }
    /** The notification mode for one peer. */
    async setPeerNotification(peer, s) {
        return this.setNotification('user', peer, s);
    }
    async setGroupNotification(group, s) {
        return this.setNotification('chatgroup', group, s);
    }
    /** The user's default mode (the `user` chattype with the user's own name). */
    async setDefaultNotification(s) {
        return this.setNotification('user', this.c.user, s);
    }
    async notification(chatType, key) {
        return (await this.c.rest('GET', `/users/${this.user()}/notification/${chatType}/${encodeURIComponent(key)}`))?.data ?? {};
    }
    async setNotification(chatType, key, s) {
        return (await this.c.rest('PUT', `/users/${this.user()}/notification/${chatType}/${encodeURIComponent(key)}`, s))?.data ?? {};
    }
    async setLanguage(language) {
        await this.c.rest('PUT', `/users/${this.user()}/notification/language`, { translationLanguage: language });
    }
    async language() {
        const r = await this.c.rest('GET', `/users/${this.user()}/notification/language`);
        return r?.data?.translationLanguage ?? r?.data?.language ?? '';
    }
    async setTemplate(templateName) {
        await this.c.rest('PUT', `/users/${this.user()}/notification/template`, { templateName });
    }
    /** 0: "You have a new message"; 1: sender and content. */
    async setDisplayStyle(style) {
        await this.c.rest('PUT', `/users/${this.user()}`, { notification_display_style: style });
    }
    /** The name pushes show for this user. */
    async setNickname(nickname) {
        await this.c.rest('PUT', `/users/${this.user()}`, { nickname });
    }
}
