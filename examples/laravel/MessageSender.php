<?php

declare(strict_types=1);

namespace App\WaRouter;

/**
 * The app's side of a send, for the `wa:send` command (SendPaced): one message of a campaign to
 * one contact, from a whatsapp-web.js session (your bridge) or the workspace's Meta Cloud API
 * number (a Graph API call). See README.md for an example.
 */
interface MessageSender
{
    /**
     * Sends campaign $campaignId's message to contact $contactId from $target (a session id, or
     * `meta_api:<workspace_id>`) and returns the furthest status known by then: 'sent',
     * 'delivered', 'read' or 'failed'. Throwing counts as 'failed'.
     */
    public function send(int|string $campaignId, string $contactId, string $target): string;
}
