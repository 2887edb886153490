import type { Client } from './client.js';

export type NotificationMode = 'DEFAULT' | 'ALL' | 'AT' | 'NONE';

export interface NotificationSetting {
  type?: NotificationMode;
  /** Quiet hours "H:M-H:M" in UTC (may wrap midnight). */
  ignoreInterval?: string;
  /** Stay silent this many ms (≤604,800,000); read back as the ms left. */
  ignoreDuration?: number;
}

export interface PushBinding {
  device_id: string;
  notifier_name: string;
  device_token: string;
  [key: string]: unknown;
}

/**
 * Offline push (docs/rest.md, "Push"): REST calls made with the user's token.
 * Client.setBackground tells the server the app went to the background.
 */
export class Push {
  constructor(private c: Client) {}

  private user() {
    if (!this.c.user) throw new Error('parley: push calls need a connected client (the user is not known yet)');
    return encodeURIComponent(this.c.user);
  }

  /** Binds this device's push token (FCM, APNs, …) to the app's notifier; returns the user's bindings. */
  async bindDevice(deviceId: string, notifierName: string, deviceToken: string): Promise<PushBinding[]> {
    const r = await this.c.rest('PUT', `/users/${this.user()}/push/binding`, {
      device_id: deviceId, notifier_name: notifierName, device_token: deviceToken,
    });
    return r?.entities ?? [];
  }
  /** Removes a device's binding (an empty token unbinds). */
  async unbindDevice(deviceId: string, notifierName: string): Promise<PushBinding[]> {
    return this.bindDevice(deviceId, notifierName, '');
  }
  async bindings(): Promise<PushBinding[]> {
    return (await this.c.rest('GET', `/users/${this.user()}/push/binding`))?.entities ?? [];
  }
  /** The notification mode for one peer. */
  async setPeerNotification(peer: string, s: NotificationSetting): Promise<NotificationSetting> {
    return this.setNotification('user', peer, s);
  }
  async setGroupNotification(group: string, s: NotificationSetting): Promise<NotificationSetting> {
    return this.setNotification('chatgroup', group, s);
  }
  /** The user's default mode (the `user` chattype with the user's own name). */
  async setDefaultNotification(s: NotificationSetting): Promise<NotificationSetting> {
    return this.setNotification('user', this.c.user, s);
  }
  async notification(chatType: 'user' | 'chatgroup', key: string): Promise<NotificationSetting> {
    return (await this.c.rest('GET', `/users/${this.user()}/notification/${chatType}/${encodeURIComponent(key)}`))?.data ?? {};
  }
  private async setNotification(chatType: 'user' | 'chatgroup', key: string, s: NotificationSetting) {
    return (await this.c.rest('PUT', `/users/${this.user()}/notification/${chatType}/${encodeURIComponent(key)}`, s))?.data ?? {};
  }
  async setLanguage(language: string): Promise<void> {
    await this.c.rest('PUT', `/users/${this.user()}/notification/language`, { translationLanguage: language });
  }
  async language(): Promise<string> {
    const r = await this.c.rest('GET', `/users/${this.user()}/notification/language`);
    return r?.data?.translationLanguage ?? r?.data?.language ?? '';
  }
  async setTemplate(templateName: string): Promise<void> {
    await this.c.rest('PUT', `/users/${this.user()}/notification/template`, { templateName });
  }
  /** 0: "You have a new message"; 1: sender and content. */
  async setDisplayStyle(style: 0 | 1): Promise<void> {
    await this.c.rest('PUT', `/users/${this.user()}`, { notification_display_style: style });
  }
  /** The name pushes show for this user. */
  async setNickname(nickname: string): Promise<void> {
    await this.c.rest('PUT', `/users/${this.user()}`, { nickname });
  }
}
